/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interface between the C glue of the syslet subsystem and its
 * Rust implementation (syslets/syslet/syslet.rs). Every function declared
 * here is defined in Rust with #[no_mangle] extern "C"; the C side only
 * forwards arguments.
 */
#ifndef _LINUX_SYSLET_H
#define _LINUX_SYSLET_H

#include <linux/sched.h>
#include <linux/types.h>
#include <uapi/linux/syslet.h>

struct signal_struct;
struct task_struct;

#ifdef CONFIG_SYSLET
/* syslet/umem.rs: returns the new value, or -EFAULT. */
long syslet_rs_umem_add(unsigned long uptr, unsigned long inc);
/* syslet/engine.rs */
long syslet_rs_async_exec(unsigned long atom, unsigned long ahu);
long syslet_rs_async_wait(unsigned long min_wait_events,
			  unsigned long user_ring_idx, unsigned long ahu);

/*
 * syslet/pool.rs. syslet_worker_sleeping() is called by sched_submit_work()
 * for a PF_SYSLET_WORKER task about to sleep: it must not sleep or
 * allocate. syslet_free_process() releases the per-process state when
 * its signal_struct is freed (any context, no async thread left).
 */
void syslet_worker_sleeping(struct task_struct *tsk);
void syslet_free_process(struct signal_struct *sig);

/*
 * The cachemiss handoff. syslet/handoff.rs: syslet_task_sleeping() is
 * called by sched_submit_work() for a PF_SYSLET_HANDOFF task about to
 * sleep (worker_private then points to its armed record); it must not
 * sleep or allocate. syslet/threadlet.rs: the threadlet system calls.
 * syslet/handoff.c: the arch and task glue, and the do_exit() hook.
 */
void syslet_task_sleeping(struct task_struct *tsk);
void syslet_rs_task_exit(struct task_struct *tsk, long code);
long syslet_rs_threadlet_on(unsigned long flags);
long syslet_rs_threadlet_off(void);
void syslet_task_exit(struct task_struct *tsk, long code);
void syslet_task_left(struct task_struct *tsk);
void syslet_rs_task_left(struct task_struct *tsk);
void syslet_end_group(int code);
struct pt_regs;
struct pid;
size_t syslet_context_size(void);
bool syslet_context_save(void *ctx, const struct pt_regs *regs,
			 struct task_struct *to, bool threadlet, long ret);
void syslet_context_restore(void *ctx);
void syslet_context_drop(void *ctx);
void syslet_block_signals(void);
/*
 * A task whose context syslet_context_save() took is marked with a jobctl
 * bit the signal code does not use (checked in syslet/handoff.c) until the
 * spare applied or dropped it: its TID is the context's until then, and
 * the task takes no other context (syslet/spare.rs).
 */
#define SYSLET_JOBCTL_GIVEN	(1UL << 30)
/* The spare that context is given to carries this one meanwhile. */
#define SYSLET_JOBCTL_TAKING	(1UL << 29)
/*
 * A tracer waits to attach to the thread that will hold this context's
 * TID: it moves with the TID, and the holder's next save refuses once.
 */
#define SYSLET_JOBCTL_TRACER	(1UL << 28)
int syslet_wait_context_taken(void);
/*
 * kernel/ptrace.c (patches/0025): ptrace_attach() makes @task traced
 * (@flags) only if @pid still names it and no context moves to or from it;
 * else the tracer waits for the move and looks @pid up again.
 */
bool syslet_ptrace_claim(struct task_struct *task, pid_t pid, unsigned int flags);
int syslet_ptrace_wait(struct task_struct *task);

/*
 * syslet/identity.rs. syslet_identity_changed(): @task's credentials,
 * seccomp mode or filter, no_new_privs, namespaces, fs or files changed
 * (commit_creds(), seccomp_assign_mode() under siglock, prctl, unshare,
 * setns): the process's detached chains stop before their next atom. It
 * never sleeps. syslet_exec_begin()/_end() bracket bprm_execve(): a
 * threadlet is disarmed while the exec runs, and freed if it succeeds.
 */
void syslet_identity_changed(struct task_struct *task);

/*
 * kernel/sched/core.c (patches/0012): exchanges the runtimes of @from
 * and current, whose user context came from @from (the handoff).
 */
void sched_exchange_runtime(struct task_struct *from);
bool syslet_exec_begin(struct task_struct *task);
void syslet_exec_end(struct task_struct *task, bool disarmed, int ret);

/*
 * syslet/uaccess.c: word-sized user access (0 or -EFAULT), and the
 * engine's hot-path reads, which return one of these:
 */
enum syslet_uread {
	SYSLET_UREAD_OK = 0,
	SYSLET_UREAD_ARG_FAULT,		/* atom read, an argument was not */
	SYSLET_UREAD_ATOM_FAULT,	/* the atom could not be read */
	SYSLET_UREAD_STORE_FAULT,	/* the result could not be stored */
	SYSLET_UREAD_HEAD_FAULT,	/* the head could not be read */
	SYSLET_UREAD_HEAD_INVALID,	/* its ring geometry is invalid */
	SYSLET_UREAD_SLOT_FAULT,	/* its next ring slot is unreadable */
};
#define SYSLET_ATOM_WORDS	10	/* of struct syslet_uatom, less private */
#define SYSLET_HEAD_WORDS	4	/* of struct async_head_user */
int syslet_read_words(unsigned long *dst, const unsigned long __user *src,
		      unsigned int n);
int syslet_read_submission(unsigned long *head, unsigned long *slot,
			   unsigned long *atom, unsigned long *args,
			   const unsigned long __user *ahu,
			   const unsigned long __user *src);
int syslet_store_read_atom(unsigned long __user *ret_ptr, unsigned long ret,
			   unsigned long *atom, unsigned long *args,
			   const unsigned long __user *src);
int syslet_spawn_spare(int (*fn)(void *), void *arg);

/* Per-process counters: /proc/<pid>/syslet (syslet/proc.c). */
struct syslet_stats {
	u64 atoms_inline;	/* atoms run by the calling task itself */
	u64 atoms_async_thread;	/* atoms run by async threads */
	u64 chains;		/* chains submitted */
	u64 chains_async;	/* chains that went asynchronous */
	u64 completions;	/* completions posted to rings */
	u64 threads_alive;	/* async threads now */
	u64 threads_peak;	/* most async threads at once */
	u64 handoffs;		/* user contexts moved to a spare thread */
	u64 spares_alive;	/* spare threads now (parked or taking over) */
};
void syslet_rs_stats(struct signal_struct *sig, struct syslet_stats *out);

struct seq_file;
struct pid_namespace;
struct pid;
int proc_pid_syslet(struct seq_file *m, struct pid_namespace *ns,
		    struct pid *pid, struct task_struct *task);

/* syslet/trace.c: tracepoints (include/trace/events/syslet.h) */
/* Defined by CREATE_TRACE_POINTS in syslet/trace.c; Rust reads their keys. */
struct tracepoint;
extern struct tracepoint __tracepoint_syslet_submit;
extern struct tracepoint __tracepoint_syslet_complete;
void syslet_trace_submit(unsigned long atom, unsigned long ahu, bool inline_run);
void syslet_trace_async(unsigned long atom, int reason);
void syslet_trace_complete(unsigned long atom, int error, bool posted);

/* syslet/debugfs.c: objects alive, updated atomically by Rust */
extern u64 syslet_live_processes;
extern u64 syslet_live_workers;
extern u64 syslet_live_jobs;
extern u64 syslet_live_spares;

/* syslet/sysctl.c: /proc/sys/kernel/syslet_* */
/* syslet/syscalls.c: see syslet/invoke.rs's dispatch(). */
extern bool syslet_table_dispatch;
void syslet_rs_dispatch_init(bool table);
extern unsigned int sysctl_syslet_max_threads;
extern unsigned int sysctl_syslet_idle_msecs;
extern unsigned int sysctl_syslet_handoff;

/*
 * kernel/rseq.c (patches/0015): no cachemiss handoff while current is in
 * rseq's resume work, which reads current->rseq again after a fault on
 * the area, and a handoff takes that pointer away (syslet/handoff.c).
 * The task sleeps in place instead. Returns what to give back to
 * syslet_handoff_unpause().
 */
static inline unsigned int syslet_handoff_pause(void)
{
	unsigned int armed = current->flags & PF_SYSLET_HANDOFF;

	current->flags &= ~PF_SYSLET_HANDOFF;
	return armed;
}

static inline void syslet_handoff_unpause(unsigned int armed)
{
	current->flags |= armed;
}
#else
static inline unsigned int syslet_handoff_pause(void)
{
	return 0;
}
static inline void syslet_handoff_unpause(unsigned int armed) { }
static inline void syslet_worker_sleeping(struct task_struct *tsk) { }
static inline void syslet_free_process(struct signal_struct *sig) { }
static inline void syslet_task_sleeping(struct task_struct *tsk) { }
static inline void syslet_task_exit(struct task_struct *tsk, long code) { }
static inline void syslet_task_left(struct task_struct *tsk) { }
static inline void syslet_identity_changed(struct task_struct *task) { }
static inline bool syslet_ptrace_claim(struct task_struct *task, pid_t pid,
				       unsigned int flags)
{
	task->ptrace = flags;
	return true;
}
static inline int syslet_ptrace_wait(struct task_struct *task)
{
	return 0;
}
static inline int syslet_wait_context_taken(void)
{
	return 0;
}
static inline bool syslet_exec_begin(struct task_struct *task)
{
	return false;
}
static inline void syslet_exec_end(struct task_struct *task, bool disarmed,
				   int ret) { }
#endif

struct kiocb;
struct iov_iter;
struct work_struct;
#ifdef CONFIG_SYSLET_AIO
/* syslet/aio.rs: fs/aio.c offers each read/write; true if it took it. */
bool syslet_aio_rw(struct kiocb *req, struct iov_iter *iter, bool write);
/* syslet/aio.rs: fs/aio.c offers each fsync work item; true if it took it. */
bool syslet_aio_work(struct work_struct *work);
/*
 * syslet/aio.rs, io_submit()'s loop: asked before iocb @i of @nr and once
 * after the last (@i == @nr). SUBMIT: submit iocb @i; DONE: the loop is
 * over; PARK: the caller's user context moved to a spare thread while
 * iocb @i - 1 ran (a write blocked), and io_submit() returns, its
 * references dropped, through syslet_aio_park(): the task parks as a
 * spare and returns what the context it takes returns.
 */
enum syslet_aio_step {
	SYSLET_AIO_SUBMIT,
	SYSLET_AIO_DONE,
	SYSLET_AIO_PARK,
};
enum syslet_aio_step syslet_aio_next(long i, long nr);
long syslet_aio_park(void);
/* syslet/syscalls.c, for syslet/aio.rs: is @pos's page cached (a hint)?
 * A read that never faults. */
struct file;
bool syslet_page_cached(struct file *file, loff_t pos);
/* ... and starts a cold read's I/O unless the invalidate lock is taken. */
bool syslet_readahead(struct file *file, pgoff_t index, unsigned long nr);
/* ... and lets a cold read waiting in line wait only for its device. */
bool syslet_page_wait(struct file *file, loff_t pos);
struct iov_iter;
bool syslet_iter_seg(const struct iov_iter *iter, unsigned long i,
		     unsigned long *addr, size_t *len);
extern const unsigned long syslet_vm_shadow_stack;
ssize_t syslet_read_iter_line(struct kiocb *req, struct iov_iter *iter);
ssize_t syslet_read_iter_nofault(struct kiocb *req, struct iov_iter *iter);
extern unsigned int sysctl_syslet_aio;
/*
 * Cancelling a request on an async thread (syslet/aio/cancel.rs decides): the
 * request's ki_cancel; fs/aio.c's glue to arm, disarm and complete; a
 * private SIGKILL that interrupts the thread's sleeps, taken back by it.
 */
int syslet_aio_cancel(struct kiocb *iocb);
void syslet_aio_put_record(void *rec);
static inline bool syslet_aio_armed(int (*cancel)(struct kiocb *))
{
	return cancel == syslet_aio_cancel;
}
void syslet_aio_arm_cancel(struct kiocb *iocb, void *rec);
void syslet_aio_disarm(struct kiocb *iocb);
void *syslet_aio_record(struct kiocb *iocb);
struct kiocb *syslet_aio_fsync_req(struct work_struct *work,
				   struct file **file, bool *datasync);
void syslet_aio_fsync_done(struct work_struct *work, long res, bool later);
void syslet_interrupt(struct task_struct *t, unsigned long *state,
		      unsigned long done);
void syslet_uninterrupt(void);
/*
 * That SIGKILL's mark: a jobctl bit the signal code does not use (checked
 * in syslet/syscalls.c). A real SIGKILL sent meanwhile takes the pending
 * bit over (kernel/signal.c, under siglock).
 */
#define SYSLET_JOBCTL_KILL	(1UL << 31)
void syslet_real_kill(struct task_struct *t);
static inline void syslet_signal_sending(struct task_struct *t, int sig)
{
	if (unlikely(sig == SIGKILL && (t->jobctl & SYSLET_JOBCTL_KILL)))
		syslet_real_kill(t);
}
#else
static inline bool syslet_aio_rw(struct kiocb *req, struct iov_iter *iter,
				 bool write)
{
	return false;
}
static inline bool syslet_aio_work(struct work_struct *work)
{
	return false;
}
enum syslet_aio_step {
	SYSLET_AIO_SUBMIT,
	SYSLET_AIO_DONE,
	SYSLET_AIO_PARK,
};
static inline enum syslet_aio_step syslet_aio_next(long i, long nr)
{
	return i < nr ? SYSLET_AIO_SUBMIT : SYSLET_AIO_DONE;
}
static inline long syslet_aio_park(void)
{
	return 0;
}
static inline bool syslet_aio_armed(int (*cancel)(struct kiocb *))
{
	return false;
}
static inline void syslet_signal_sending(struct task_struct *t, int sig) { }
#endif

#ifdef CONFIG_SYSLET_KUNIT_TEST
/* Pure logic, exported for the KUnit suite (syslet/syslet_kunit.c). */
bool syslet_kunit_stops(unsigned long flags, long ret);
long syslet_kunit_next(unsigned long addr, unsigned long flags,
		       unsigned long next, long ret);
bool syslet_kunit_refused(unsigned long nr);
unsigned long syslet_kunit_ring_pending(unsigned long kernel_idx,
					unsigned long user_idx);
unsigned long syslet_kunit_ring_slot(unsigned long idx, unsigned long slots);
/*
 * The spare and worker pools' state machines, driven without threads:
 * 0 when every check held, else the Rust line of the first that failed
 * (-1: no memory to set up).
 */
int syslet_kunit_spare_reserve(void);
int syslet_kunit_spare_reserve_skips(void);
int syslet_kunit_spare_retire(void);
int syslet_kunit_worker_idle(void);
int syslet_kunit_worker_tables(void);
int syslet_kunit_line_order(void);
int syslet_kunit_line_admits(void);
int syslet_kunit_line_stall(void);
int syslet_kunit_line_abandon(void);
#endif

/*
 * kernel/signal.c (patches/0027): a thread-directed signal to @p, which
 * @tid named at the sender's lookup: SIGNAL_TID_MOVED (nothing sent) if a
 * handoff gave @tid to another task meanwhile, and the sender looks it up
 * again; after SIGNAL_TID_RETRIES of those (counted in *@tries) the signal
 * goes to @p. fs/fcntl.c sends F_OWNER_TID's signals with it.
 */
#define SIGNAL_TID_MOVED	1
#define SIGNAL_TID_RETRIES	8
struct kernel_siginfo;
struct pid;
int do_send_sig_to_tid(int sig, struct kernel_siginfo *info,
		       struct task_struct *p, struct pid *tid, unsigned int *tries);

/*
 * security/yama (patches/0022): the ptracer relations of @from, which led
 * its thread group, are @to's, which leads it now (the handoff's move of
 * the leadership, syslet/handoff.c). Caller holds cred_guard_mutex.
 */
#ifdef CONFIG_SECURITY_YAMA
void yama_task_leader_moved(struct task_struct *from, struct task_struct *to);
#else
static inline void yama_task_leader_moved(struct task_struct *from,
					  struct task_struct *to) { }
#endif

#endif /* _LINUX_SYSLET_H */
