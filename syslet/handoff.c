// SPDX-License-Identifier: GPL-2.0
/*
 * Arch and task glue of the cachemiss handoff. The design, the state
 * machine and every decision (when to hand over, to which spare thread,
 * what to fall back to) live in syslet/handoff.rs; this file only moves
 * state that C reaches through inline functions and macros: the user
 * register frame, the FPU/extended state, the FS/GS bases and PKRU
 * (x86-64), the signal queues and mask under siglock, the per-thread
 * user pointers (robust futexes, rseq, clear_child_tid, sigaltstack),
 * the TID, moved with exchange_tids() under tasklist_lock, and, for the
 * main thread's context, the leadership of the thread group, moved as
 * exec's de_thread() moves it (Documentation/handoff.md, "The group
 * leader", has the lock rule and what it asks of every reader).
 *
 * One syslet_context is owned by each spare thread. The task that blocks
 * fills it from the scheduler hook (syslet_context_save(): no sleeping,
 * no allocation); the spare applies it to itself, in its own context,
 * before it returns to user space (syslet_context_restore()).
 */
#include <linux/cgroup.h>
#include <linux/compat.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/prctl.h>
#include <linux/rseq.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/task_work.h>
#include <linux/uprobes.h>
#include <linux/wait_bit.h>
#include <linux/syslet.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xstate.h>
#include <asm/fsgsbase.h>
#include <asm/pkru.h>
#include <asm/prctl.h>
#include <asm/proto.h>

#define SYSLET_JOBCTL_ALL	(SYSLET_JOBCTL_GIVEN | SYSLET_JOBCTL_TAKING | SYSLET_JOBCTL_TRACER)
static_assert(!(SYSLET_JOBCTL_ALL &
		(JOBCTL_STOP_SIGMASK | JOBCTL_STOP_DEQUEUED | JOBCTL_STOP_PENDING |
		 JOBCTL_STOP_CONSUME | JOBCTL_TRAP_STOP | JOBCTL_TRAP_NOTIFY |
		 JOBCTL_TRAPPING | JOBCTL_LISTENING | JOBCTL_TRAP_FREEZE |
		 JOBCTL_PTRACE_FROZEN | JOBCTL_STOPPED | JOBCTL_TRACED)));
#ifdef CONFIG_SYSLET_AIO
static_assert(!(SYSLET_JOBCTL_ALL & SYSLET_JOBCTL_KILL));
#endif

/* What a fault in user code raises (kernel/signal.c's SYNCHRONOUS_MASK). */
#define SYSLET_SYNCHRONOUS_MASK \
	(sigmask(SIGSEGV) | sigmask(SIGBUS) | sigmask(SIGILL) | \
	 sigmask(SIGTRAP) | sigmask(SIGFPE) | sigmask(SIGSYS))

struct syslet_context {
	struct task_struct *from;	/* the task the context came from */
	long ret;			/* what its system call returns to it */
	struct pt_regs regs;
	unsigned long fsbase, gsbase;
	u32 pkru;
	sigset_t blocked;
	int __user *set_child_tid, *clear_child_tid;
	struct robust_list_head __user *robust_list;
#ifdef CONFIG_COMPAT
	struct compat_robust_list_head __user *compat_robust_list;
#endif
#ifdef CONFIG_RSEQ
	struct rseq __user *rseq;
	u32 rseq_len, rseq_sig;
#endif
	unsigned long sas_ss_sp;
	size_t sas_ss_size;
	unsigned int sas_ss_flags;
	u64 timer_slack_ns, default_timer_slack_ns;
	int pdeath_signal;
	bool notsc;			/* PR_SET_TSC's PR_TSC_SIGSEGV */
	bool leader;			/* @from led its thread group */
	u8 fpu[];			/* fpu_kernel_cfg.default_size bytes */
};

size_t syslet_context_size(void)
{
	return sizeof(struct syslet_context) + fpu_kernel_cfg.default_size;
}

/*
 * Called by current from the scheduler hook: stores the user context
 * whose register frame is @regs in @ctx for @to, a spare that may take it
 * (syslet/eligible.rs decided: credentials, files, fs, namespaces,
 * seccomp, no_new_privs, tracers, the FPU buffer, a thread's own
 * protections). Refuses (false, nothing changed) only if a signal is
 * pending: it belongs to this context and is delivered when current
 * returns. On success current has no user context left: every signal is
 * blocked, so none is routed to it, and its per-thread user pointers are
 * now @ctx's.
 */
bool syslet_context_save(void *buf, const struct pt_regs *regs,
			 struct task_struct *to, bool threadlet, long ret)
{
	struct syslet_context *ctx = buf;
	struct task_struct *t = current;

	spin_lock_irq(&t->sighand->siglock);
	/*
	 * A tracer may have attached since eligible.rs looked (either task):
	 * read again under the lock that syslet_ptrace_claim() takes. One
	 * that waits to attach gets this call's time to do it: the save
	 * refuses once (the mark is cleared).
	 */
	if (signal_pending(t) || t->ptrace || to->ptrace ||
	    (t->jobctl & SYSLET_JOBCTL_TRACER)) {
		t->jobctl &= ~SYSLET_JOBCTL_TRACER;
		spin_unlock_irq(&t->sighand->siglock);
		return false;
	}
	/*
	 * An atom in ppoll()/pselect6()/epoll_pwait() runs with a temporary
	 * mask; the context's own is the one saved for the return.
	 */
	if (test_restore_sigmask()) {
		ctx->blocked = t->saved_sigmask;
		sigfillset(&t->saved_sigmask);
	} else if (!sigisemptyset(&t->real_blocked)) {
		/*
		 * A threadlet in sigtimedwait(): the mask it restores on
		 * return is the context's; this task gets its own back.
		 */
		ctx->blocked = t->real_blocked;
		sigfillset(&t->real_blocked);
		sigdelsetmask(&t->real_blocked, sigmask(SIGKILL) | sigmask(SIGSTOP) |
			      SYSLET_SYNCHRONOUS_MASK);
	} else {
		ctx->blocked = t->blocked;
	}
	sigfillset(&t->blocked);
	/*
	 * A threadlet goes on in user space: the signals its own faults
	 * raise stay deliverable (blocked, force_sig would reset their
	 * handlers and kill the process).
	 */
	sigdelsetmask(&t->blocked, sigmask(SIGKILL) | sigmask(SIGSTOP) |
		      (threadlet ? SYSLET_SYNCHRONOUS_MASK : 0));
	/* Nothing below fails: the context is given. */
	t->jobctl |= SYSLET_JOBCTL_GIVEN;
	to->jobctl |= SYSLET_JOBCTL_TAKING;
	spin_unlock_irq(&t->sighand->siglock);

	fpu_sync_fpstate(&t->thread.fpu);
	memcpy(ctx->fpu, &t->thread.fpu.fpstate->regs, fpu_kernel_cfg.default_size);
	ctx->regs = *regs;
	ctx->fsbase = x86_fsbase_read_task(t);
	ctx->gsbase = x86_gsbase_read_task(t);
	ctx->pkru = read_pkru();

	ctx->set_child_tid = t->set_child_tid;
	ctx->clear_child_tid = t->clear_child_tid;
	ctx->robust_list = t->robust_list;
	t->set_child_tid = t->clear_child_tid = NULL;
	t->robust_list = NULL;
#ifdef CONFIG_COMPAT
	ctx->compat_robust_list = t->compat_robust_list;
	t->compat_robust_list = NULL;
#endif
#ifdef CONFIG_RSEQ
	ctx->rseq = t->rseq;
	ctx->rseq_len = t->rseq_len;
	ctx->rseq_sig = t->rseq_sig;
	/*
	 * At once: from here on this task must not touch the area, which
	 * is the context's. rseq's own resume work, which reads t->rseq
	 * again after a fault on the area, never gets here: it pauses the
	 * handoff (syslet_handoff_pause(), patches/0015).
	 */
	t->rseq = NULL;
	t->rseq_len = 0;
#endif
	ctx->sas_ss_sp = t->sas_ss_sp;
	ctx->sas_ss_size = t->sas_ss_size;
	ctx->sas_ss_flags = t->sas_ss_flags;
	sas_ss_reset(t);
	ctx->timer_slack_ns = t->timer_slack_ns;
	ctx->default_timer_slack_ns = t->default_timer_slack_ns;
	ctx->notsc = test_tsk_thread_flag(t, TIF_NOTSC);
	/* Sent when the process's parent dies, to the thread that set it. */
	ctx->pdeath_signal = t->pdeath_signal;
	t->pdeath_signal = 0;
	/*
	 * Only this handoff's restore moves t's leadership, and it cannot
	 * run before this returns; an exec that takes it kills t first.
	 */
	ctx->leader = thread_group_leader(t);
	get_task_struct(t);
	ctx->from = t;
	ctx->ret = ret;
	return true;
}

#ifdef CONFIG_SYSLET_AIO
/*
 * Task work queued by syslet_context_restore() for a context whose system
 * call returns something else than 0 (io_submit()'s count, syslet/aio.rs):
 * it runs on the way to user space, after the spare's own system call
 * (or ret_from_fork(), which clears ax) has set the return register.
 */
static void syslet_set_return(struct callback_head *work)
{
	struct task_struct *t = current;

	task_pt_regs(t)->ax = t->syslet_aio_nr;
	t->syslet_aio_nr = 0;
}
#endif

/*
 * The context @from gave is applied (the TID went with it) or dropped by
 * current, its spare: @from may take another context now
 * (syslet_wait_context_taken()), and a tracer may attach to either task
 * (syslet_ptrace_wait()).
 */
static void syslet_context_taken(struct task_struct *from)
{
	struct task_struct *t = current;
	unsigned long flags;

	spin_lock_irq(&t->sighand->siglock);
	t->jobctl &= ~SYSLET_JOBCTL_TAKING;
	spin_unlock_irq(&t->sighand->siglock);
	if (lock_task_sighand(from, &flags)) {
		from->jobctl &= ~SYSLET_JOBCTL_GIVEN;
		unlock_task_sighand(from, &flags);
	}
	/* The clears before the waiters' checks (wake_up_var()'s rule). */
	smp_mb();
	wake_up_var(&from->jobctl);
	wake_up_var(&t->jobctl);
}

/*
 * Sleeps until the context current gave away is applied or dropped by its
 * spare: 0 then (at once if none is in flight), -ERESTARTSYS on a signal.
 */
int syslet_wait_context_taken(void)
{
	struct task_struct *t = current;

	return wait_var_event_interruptible(&t->jobctl,
					    !(READ_ONCE(t->jobctl) & SYSLET_JOBCTL_GIVEN));
}

/*
 * The children of @from become @t's (under tasklist_lock, as exit's
 * reparenting does): their parent thread is the one that runs the user
 * context that made them, so a child's PR_SET_PDEATHSIG fires when that
 * context's thread ends, not when the task it left idles out.
 */
static void syslet_move_children(struct task_struct *from, struct task_struct *t)
{
	struct task_struct *child, *n, *thread;

	list_for_each_entry_safe(child, n, &from->children, sibling) {
		/* Every thread of a child process names the same parent. */
		for_each_thread(child, thread) {
			RCU_INIT_POINTER(thread->real_parent, t);
			if (!thread->ptrace)
				thread->parent = t;
		}
		list_move_tail(&child->sibling, &t->children);
	}
}

/*
 * The leadership of @from's thread group moves to current, which took its
 * context and its TID; done as exec's de_thread() does it (Documentation/
 * handoff.md, "The group leader"). Caller holds the group's
 * cred_guard_mutex and cgroup_threadgroup_rwsem for reading,
 * tasklist_lock for writing, siglock and stats_lock; @from leads and is
 * not exiting.
 */
static void syslet_move_leadership(struct task_struct *from, struct task_struct *t)
{
	struct pid_namespace *ns = task_active_pid_ns(from);
	struct list_head *prev = t->thread_node.prev;
	struct task_struct *p;

	lockdep_assert_held_write(&tasklist_lock);
	lockdep_assert_held(&t->sighand->siglock);
	lockdep_assert_held(&t->signal->stats_lock.lock);
	/*
	 * The leader is first on thread_head (next_thread() wraps to it):
	 * the two exchange places. A lockless walker may miss one of them
	 * once; the CPU time sums and /proc/<pid>/task/ retry on stats_lock.
	 */
	if (prev == &from->thread_node)
		prev = &t->thread_node;
	list_del_rcu(&t->thread_node);
	list_replace_rcu(&from->thread_node, &t->thread_node);
	list_add_rcu(&from->thread_node, prev);

	transfer_pid(from, t, PIDTYPE_TGID);
	transfer_pid(from, t, PIDTYPE_PGID);
	transfer_pid(from, t, PIDTYPE_SID);
	list_replace_rcu(&from->tasks, &t->tasks);
	list_replace_init(&from->sibling, &t->sibling);
	for_each_thread(t, p)
		WRITE_ONCE(p->group_leader, t);
	t->exit_signal = from->exit_signal;
	from->exit_signal = -1;
	t->self_exec_id = from->self_exec_id;
	if (ns->child_reaper == from)
		WRITE_ONCE(ns->child_reaper, t);
	if (fpu_state_size_dynamic()) {
		/* The process's xstate permissions live in its leader. */
		t->thread.fpu.perm = from->thread.fpu.perm;
		t->thread.fpu.guest_perm = from->thread.fpu.guest_perm;
	}
}

/*
 * Under tasklist_lock (write) and siglock: current takes @from's TID, its
 * start time, and (@lead) its group's leadership; the signals queued for
 * that TID; and @from's children. Returns whether the TID moved: not if
 * the group is exiting or exec'ing, or either task is exiting.
 */
static bool syslet_take_identity(struct task_struct *from, bool lead)
{
	struct task_struct *t = current;
	struct signal_struct *sig = t->signal;

	if (__fatal_signal_pending(t) || (sig->flags & SIGNAL_GROUP_EXIT) ||
	    sig->group_exec_task)
		return false;
	/* What this spare's own last chain raised is not the context's. */
	flush_sigqueue(&t->pending);
	/*
	 * An exiting @from waits for this restore in its do_exit() hook
	 * (syslet_task_exit()), before its teardown: it can still give.
	 */
	if (!pid_alive(from) || (t->flags & PF_EXITING))
		return false;
	/* A spare never leads; only this handoff moves @from's leadership. */
	if (WARN_ON_ONCE(thread_group_leader(t) || lead != thread_group_leader(from)))
		return false;
	/*
	 * A thread's start time goes with its TID (/proc/<pid>/stat). What
	 * /proc shows of a thread moves under stats_lock, on which its
	 * readers retry (patches/0026): the start times, the TIDs, and the
	 * leadership (the exit signal, the first place on the thread list).
	 */
	write_seqlock(&sig->stats_lock);
	swap(t->start_time, from->start_time);
	swap(t->start_boottime, from->start_boottime);
	exchange_tids(t, from);
	/* A tracer's wait for this TID (syslet_ptrace_claim()) goes with it. */
	t->jobctl |= from->jobctl & SYSLET_JOBCTL_TRACER;
	from->jobctl &= ~SYSLET_JOBCTL_TRACER;
	if (lead)
		syslet_move_leadership(from, t);
	write_sequnlock(&sig->stats_lock);
	list_splice_tail_init(&from->pending.list, &t->pending.list);
	t->pending.signal = from->pending.signal;
	sigemptyset(&from->pending.signal);
	syslet_move_children(from, t);
	return true;
}

/*
 * Called by the spare thread that took @buf over, in its own context:
 * it becomes the thread the context came from. It takes its TID, its
 * name and its start time, and, if it came from the group leader, the
 * leadership of the thread group; its own stale private signals are
 * dropped, the ones queued for the TID it takes are moved to it; then
 * its mask is the context's (which routes pending process-wide signals
 * to it).
 *
 * The lock rule of a leadership move (Documentation/handoff.md, "The
 * group leader"): cred_guard_mutex, then cgroup_threadgroup_rwsem for
 * reading, tasklist_lock for writing, siglock, and stats_lock around the
 * exchange of the TIDs and the reorder of the thread list. Task locks
 * (the names) only outside tasklist_lock, which is read-locked in
 * interrupts.
 */
void syslet_context_restore(void *buf)
{
	struct syslet_context *ctx = buf;
	struct task_struct *t = current, *from = ctx->from;
	struct fpu *fpu = &t->thread.fpu;
	struct signal_struct *sig = t->signal;
	char comm[TASK_COMM_LEN], own_comm[TASK_COMM_LEN];
	bool lead = ctx->leader, locked = false, moved;

	*task_pt_regs(t) = ctx->regs;
#ifdef CONFIG_SYSLET_AIO
	t->syslet_aio_nr = ctx->ret;
	if (ctx->ret) {
		init_task_work(&t->syslet_ret_work, syslet_set_return);
		task_work_add(t, &t->syslet_ret_work, TWA_RESUME);
	}
#endif
	fpregs_lock();
	memcpy(&fpu->fpstate->regs, ctx->fpu, fpu_kernel_cfg.default_size);
	/* The registers hold none of this: reload on the way out. */
	set_thread_flag(TIF_NEED_FPU_LOAD);
	fpu->last_cpu = -1;
	fpregs_unlock();
	do_arch_prctl_64(t, ARCH_SET_FS, ctx->fsbase);
	do_arch_prctl_64(t, ARCH_SET_GS, ctx->gsbase);
	write_pkru(ctx->pkru);

	t->set_child_tid = ctx->set_child_tid;
	t->clear_child_tid = ctx->clear_child_tid;
	t->robust_list = ctx->robust_list;
#ifdef CONFIG_COMPAT
	t->compat_robust_list = ctx->compat_robust_list;
#endif
#ifdef CONFIG_RSEQ
	t->rseq = ctx->rseq;
	t->rseq_len = ctx->rseq_len;
	t->rseq_sig = ctx->rseq_sig;
	rseq_set_notify_resume(t);
#endif
	t->sas_ss_sp = ctx->sas_ss_sp;
	t->sas_ss_size = ctx->sas_ss_size;
	t->sas_ss_flags = ctx->sas_ss_flags;
	t->timer_slack_ns = ctx->timer_slack_ns;
	t->default_timer_slack_ns = ctx->default_timer_slack_ns;
	t->pdeath_signal = ctx->pdeath_signal;
	if (test_thread_flag(TIF_NOTSC) != ctx->notsc)
		set_tsc_mode(ctx->notsc ? PR_TSC_SIGSEGV : PR_TSC_ENABLE);
	if (task_nice(t) != task_nice(from))
		set_user_nice(t, task_nice(from));

	/* The exec or the exit that is coming moves nothing. */
	if (lead && !mutex_lock_killable(&sig->cred_guard_mutex))
		locked = true;
	if (lead && !locked)
		goto identity_done;
	/*
	 * The name follows the TID (and the leader's is the process's):
	 * current takes it before the move, @from gets current's after, so
	 * the task that holds the context's TID always has its name (a /proc
	 * reader that spans the move shows again, patches/0026).
	 */
	get_task_comm(comm, from);
	get_task_comm(own_comm, t);
	__set_task_comm(t, comm, false);
	if (lead) {
		/* Only current writes its flags. */
		if (READ_ONCE(from->flags) & PF_FORKNOEXEC)
			t->flags |= PF_FORKNOEXEC;
		else
			t->flags &= ~PF_FORKNOEXEC;
		cgroup_threadgroup_change_begin(t);
	}
	/*
	 * The TID and the signals queued for it move together (siglock
	 * inside tasklist_lock, as in exec): a tgkill() cannot land between.
	 */
	write_lock_irq(&tasklist_lock);
	spin_lock(&t->sighand->siglock);
	moved = syslet_take_identity(from, lead);
	spin_unlock(&t->sighand->siglock);
	write_unlock_irq(&tasklist_lock);
	if (lead)
		cgroup_threadgroup_change_end(t);
	__set_task_comm(moved ? from : t, own_comm, false);
	if (moved && lead)
		yama_task_leader_moved(from, t);
	if (locked)
		mutex_unlock(&sig->cred_guard_mutex);
identity_done:
	/*
	 * The thread's CPU clock goes on from where the context left it. The
	 * process's sum must not move meanwhile: its readers (the process
	 * CPU clock, times(), /proc/<pid>/stat) retry on stats_lock.
	 */
	write_seqlock_irq(&sig->stats_lock);
	sched_exchange_runtime(from);
	write_sequnlock_irq(&sig->stats_lock);
	/* An atom's ppoll() mask of this task's own is not to come back. */
	clear_restore_sigmask();
	set_current_blocked(&ctx->blocked);
	syslet_context_taken(from);
	ctx->from = NULL;
	put_task_struct(from);
}

/* A saved context that will not be applied (the spare is exiting). */
void syslet_context_drop(void *buf)
{
	struct syslet_context *ctx = buf;

	if (ctx->from) {
		syslet_context_taken(ctx->from);
		put_task_struct(ctx->from);
	}
	ctx->from = NULL;
}

/*
 * Blocks every signal of current (a spare thread parks with none, a
 * task carrying a detached chain runs with none), and drops a mask an
 * atom's ppoll() left to restore.
 */
void syslet_block_signals(void)
{
	sigset_t all;

	/* An atom's ppoll() mask is not restored over this one. */
	clear_restore_sigmask();
	sigfillset(&all);
	set_current_blocked(&all);
}

/*
 * Starts a spare thread: a user thread of current's process that begins
 * in the kernel in @fn and returns to user space, through ret_from_fork,
 * with whatever register frame @fn left it.
 */
int syslet_spawn_spare(int (*fn)(void *), void *arg)
{
	pid_t pid = user_mode_thread(fn, arg, CLONE_FS | CLONE_FILES |
				     CLONE_SIGHAND | CLONE_THREAD |
				     CLONE_SYSVSEM | CLONE_IO);

	return pid < 0 ? pid : 0;
}

/*
 * do_exit() hook, after PF_EXITING is set (syslet/exit.rs). A task whose
 * context is given but not yet applied (a threadlet function that ends
 * its task at once) still holds the context's TID, and for the main
 * thread the group's leadership: it waits here, before anything of it is
 * torn down, until its spare took them (syslet_context_restore()) or
 * dropped the context. The spare never waits for this task.
 */
void syslet_task_exit(struct task_struct *tsk, long code)
{
	/* Not a load, not a hung task, and no obstacle to the freezer. */
	if (READ_ONCE(tsk->jobctl) & SYSLET_JOBCTL_GIVEN)
		(void)___wait_var_event(&tsk->jobctl, !(READ_ONCE(tsk->jobctl) & SYSLET_JOBCTL_GIVEN),
				  TASK_IDLE | TASK_FREEZABLE, 0, 0, schedule());
	if ((tsk->flags & PF_SYSLET_HANDOFF) || READ_ONCE(tsk->signal->syslet_process))
		syslet_rs_task_exit(tsk, code);
}

/* do_exit() hook, after the task left signal->live (syslet/exit.rs). */
void syslet_task_left(struct task_struct *tsk)
{
	if (READ_ONCE(tsk->signal->syslet_process))
		syslet_rs_task_left(tsk);
}

/*
 * Ends current's thread group, whose user threads have all exited, from
 * current's exit, as do_group_exit() would: the group's code is @code
 * (the last user thread's, what stock Linux reports for a group whose
 * threads all exited: synchronize_group_exit()); every other thread gets
 * SIGKILL. Nothing if the group is already exiting or exec'ing.
 */
void syslet_end_group(int code)
{
	struct signal_struct *sig = current->signal;

	spin_lock_irq(&current->sighand->siglock);
	if (!(sig->flags & SIGNAL_GROUP_EXIT) && !sig->group_exec_task) {
		sig->group_exit_code = code;
		sig->flags = SIGNAL_GROUP_EXIT;
		zap_other_threads(current);
	}
	spin_unlock_irq(&current->sighand->siglock);
}
