/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsyslet-aio: POSIX AIO (aio_read() and friends) on io_submit(), for
 * kernels whose fs/aio.c runs on the syslet engine. Internal header.
 *
 * Every request is a struct sa_req, registered in a table keyed by the
 * caller's aiocb and in a per-fd list until it finishes. A request is
 * served one of two ways (its "kind"):
 *
 *   SA_KERNEL  an iocb submitted with io_submit() into the process's one
 *              io_context; whoever holds the ring takes its io_event and
 *              finishes it: a caller waiting in aio_suspend(), or the
 *              reaper thread when nobody does (reap.c);
 *   SA_GLIBC   a "shadow" aiocb handed to glibc's own implementation
 *              (pipes, sockets, character devices, anything io_submit()
 *              refuses); a watcher thread sees it finish in glibc's
 *              aio_suspend() and finishes the caller's aiocb (shadow.c);
 *   SA_HELPER  a read the helper thread makes from the page cache, or
 *              passes on as SA_KERNEL (helper.c).
 *
 * Finishing a request writes __return_value and __error_code into the
 * caller's aiocb (the fields glibc's aio_error()/aio_return() read), bumps
 * the generation futex sa_gen that aio_suspend()/lio_listio(LIO_WAIT) wait
 * on, and sends the notification.
 */
#ifndef SYSLET_AIO_H
#define SYSLET_AIO_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <aio.h>
#include <linux/aio_abi.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SA_API __attribute__((visibility("default")))

/*
 * Requests in the io_context at once; more wait in the queue. (Each
 * context takes twice its size of the system's fs.aio-max-nr, 65536 by
 * default: 64 processes.)
 */
#define SA_DEPTH 512
/* io_events taken per io_getevents() call, iocbs per io_submit() call:
 * callers reap on their own stacks, keep it small. */
#define SA_BATCH 32

/* What a request does. */
enum { SA_READ, SA_WRITE, SA_FSYNC, SA_FDSYNC, SA_BAD };
/* With an op: the page-cache attempt already wrote into the buffer. */
#define SA_OP_STARTED 0x100
/* With an op: a read for the helper thread. */
#define SA_OP_HELPER 0x200
/* How it is served. */
enum { SA_KERNEL, SA_GLIBC, SA_HELPER };
/* Where it is. */
enum { SA_QUEUED, SA_INFLIGHT, SA_DONE };
/* The process's mode, decided at the first call. */
enum { SA_MODE_UNSET, SA_MODE_PASS, SA_MODE_KERNEL };

/*
 * glibc's internal opcodes for fsync requests: glibc writes them into the
 * caller's aio_lio_opcode (and accepts them in lio_listio() lists), so we
 * do the same.
 */
#define SA_LIO_DSYNC 3
#define SA_LIO_SYNC 4

/* A lio_listio() call's group. */
struct sa_lio {
	unsigned left;		/* members not finished (+1 while submitting) */
	int waiting;		/* a LIO_WAIT caller owns and frees the group */
	struct sigevent sev;	/* the list's notification (LIO_NOWAIT) */
};

struct sa_req {
	struct aiocb *cb;		/* the caller's */
	struct sa_req *hnext;		/* table chain (by cb) */
	struct sa_req *fprev, *fnext;	/* per-fd list, in submission order */
	struct sa_req *qnext;		/* queue or batch link */
	struct sa_req *gnext;		/* waiting for a watcher (shadow.c) */
	struct sa_lio *lio;
	uint64_t seq;
	int fd, op, kind, state, refs;
	int counted;			/* counted in the in-flight total */
	int orphan;			/* inherited over fork(): never finishes */
	int append;			/* a write on an O_APPEND descriptor */
	int started;			/* the page-cache attempt wrote into the buffer */
	int urgent;			/* its completion must be seen promptly */
	int in_hq;			/* SA_HELPER: in the helper's queue */
	struct sa_req *hq_next;		/* the helper's queue */
	long long off;
	size_t len;
	void *buf;
	struct sigevent sev;		/* the caller's, copied at submission */
	struct iocb iocb;		/* SA_KERNEL */
	struct aiocb shadow;		/* SA_GLIBC */
};

/* Notifications to send once the lock is dropped (a request's own and
 * its list's): what of a struct sigevent is needed to send one. */
struct sa_note {
	int notify, signo;
	union sigval value;
	void (*fn)(union sigval);
	pthread_attr_t *attr;
};
#define SA_NOTES (2 * SA_BATCH + 4)
struct sa_notes {
	int n;
	struct sa_note v[SA_NOTES];
};

/* What a futex sleeper needs from the ring (sa_wait()). */
enum { SA_W_NONE, SA_W_NEED, SA_W_WANT };

/* Counters reap.c decides on, read without the lock (sa_load()). */
struct sa_load {
	unsigned inflight;	/* kernel requests admitted, not finished */
	unsigned queued;	/* requests in the library's queue */
	unsigned urgent;	/* registered requests with a notification or a group */
	int need;		/* futex sleepers that need the ring reaped */
	int want;		/* futex sleepers that would reap it themselves */
};

/* glibc's implementation, for the fallback and for SA_GLIBC requests. */
struct sa_real {
	int (*read)(struct aiocb *);
	int (*write)(struct aiocb *);
	int (*fsync)(int, struct aiocb *);
	int (*error)(const struct aiocb *);
	ssize_t (*ret)(struct aiocb *);
	int (*suspend)(const struct aiocb *const[], int, const struct timespec *);
	int (*cancel)(int, struct aiocb *);
	int (*listio)(int, struct aiocb *const[], int, struct sigevent *);
	int (*listio_old)(int, struct aiocb *const[], int, struct sigevent *);
	void (*init)(const struct aioinit *);
};

/* Counters, reported by syslet_aio_stats() and SYSLET_AIO_STATS=1. */
enum {
	SA_ST_KERNEL,		/* requests io_submit() took */
	SA_ST_GLIBC,		/* requests served by glibc through a shadow */
	SA_ST_PASS,		/* calls passed to glibc (fallback mode) */
	SA_ST_INLINE,		/* io_events reaped by a caller */
	SA_ST_REAPER,		/* io_events reaped by the reaper thread */
	SA_ST_DEFERRED,		/* requests queued behind another */
	SA_ST_CANCEL,		/* io_cancel() attempts */
	SA_ST_LIVE,		/* requests allocated now (made minus freed) */
	SA_ST_NOWAIT,		/* reads done inside aio_read() (page cache) */
	SA_ST_POLLED,		/* io_events a caller waited for in io_getevents() */
	SA_ST_KICK,		/* times the reaper was woken to reap */
	SA_ST_HELPER,		/* reads handed to the helper thread */
	SA_ST_HELPER_HIT,	/* of those, finished from the page cache */
	SA_ST_N
};

extern struct sa_real sa_real;
extern int sa_mode;
extern int sa_nowait;
extern uint32_t sa_gen;
extern pthread_mutex_t sa_lock;
extern unsigned long long sa_stats[SA_ST_N];

#define sa_count(i) __atomic_add_fetch(&sa_stats[i], 1, __ATOMIC_RELAXED)
#define sa_count_n(i, k) __atomic_add_fetch(&sa_stats[i], (k), __ATOMIC_RELAXED)

/* init.c */
void sa_init(void);

/* core.c */
void sa_fork_prepare(void);
void sa_fork_parent(void);
void sa_fork_child(void);
void sa_register_locked(struct sa_req *r);
int sa_conflicts_locked(const struct sa_req *r);
void sa_enqueue_locked(struct sa_req *r);
int sa_admit_locked(struct sa_req *r);
void sa_uncount_locked(struct sa_req *r);
void sa_finish_locked(struct sa_req *r, int err, ssize_t ret, struct sa_notes *n);
void sa_drop_locked(struct sa_req *r);
void sa_free_deferred(void);
int sa_spawn(void *(*fn)(void *), void *arg, size_t stack, const char *name);
extern __thread int sa_no_free;
struct sa_req *sa_lookup_locked(const struct aiocb *cb);
struct sa_req *sa_fd_first_locked(int fd);
struct sa_req *sa_pump_locked(void);
void sa_after(struct sa_notes *n, struct sa_req *batch);
int sa_only_reads(void);
void sa_bump_gen(void);
int sa_wait(uint32_t seen, const struct timespec *abs, int cancelable, int how);
void sa_load(struct sa_load *l);
void sa_take_events_locked(const struct io_event *ev, long k, struct sa_notes *notes);

/* reap.c */
aio_context_t sa_ctx(void);
long sa_io_submit(struct iocb **v, long n);
int sa_wait_ring(uint32_t seen, const struct timespec *until);
void sa_poll_need(void);
int sa_ring_held(void);
void sa_reap_fork_child(void);
int sa_ctx_ready_locked(void);
int sa_reap(void);
int sa_ring_has_events(void);
void sa_reaper_watch_helper(void);

/* suspend.c */
int sa_suspend_done(const struct aiocb *const list[], int nent);
int sa_suspend(const struct aiocb *const list[], int nent, const struct timespec *abs);
void sa_suspend_cancelled(void);

/* submit.c */
int sa_submit(struct aiocb *const list[], int n, const int *ops,
	      struct sa_lio *lio, int *errs);
void sa_run_batch(struct sa_req *b);
int sa_cancel_one(struct sa_req *r);

/* cached.c */
enum { SA_CR_DONE, SA_CR_MISS, SA_CR_TOUCHED, SA_CR_OTHER };
int sa_cached_read(int fd, void *buf, size_t len, long long off, long *res);
int sa_read_now(struct aiocb *cb);

/* helper.c */
void sa_helper_init(int env);
void sa_helper_run_ends(void);
int sa_helper_take(int skip);
void sa_helper_queue_locked(struct sa_req *r);
void sa_helper_wake(void);
int sa_helper_cancel_locked(struct sa_req *r);
int sa_helper_watch(void);
int sa_helper_pending(void);
int sa_helper_active(void);
/* how often the reaper looks at the helper while it has reads */
#define SA_HELPER_WATCH_MS 25
void sa_helper_fork_child(void);

/* shadow.c */
void sa_shadow_init(struct sa_req *r);
int sa_shadow_start(struct sa_req *r);
void sa_shadow_fork_child(void);

/* notify.c */
int sa_notify(const struct sa_note *note);
void sa_notes_add(struct sa_notes *n, const struct sigevent *sev);
void sa_notes_send(struct sa_notes *n);

/* Whether MODE (of fstat()) names a file the kernel's aio reads and writes
 * on the syslet engine: a regular file or a block device. Anything else (a
 * pipe, a socket, a tty) keeps glibc's threads. The one place this is said. */
static inline int sa_file_mode(mode_t mode)
{
	return S_ISREG(mode) || S_ISBLK(mode);
}

#endif
