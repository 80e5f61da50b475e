/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsyslet: chains of system calls, their completion ring, threadlets
 * and the private file descriptor space, without hand-filled structs.
 *
 *	#include <syslet.h>		cc ... $(pkg-config --cflags --libs syslet)
 *
 * The kernel ABI is <linux/syslet.h> and <linux/fdspace.h> (installed by
 * `make install`); Documentation/syslets.md and Documentation/fdspace.md
 * in the project describe what the calls do. Section 3 manual pages:
 * syslet_chain_init(3), syslet_ring_init(3), syslet_threadlet_start(3),
 * syslet_fdup(3).
 *
 * Errors: every function that can fail returns a negative errno value
 * (-EINVAL, ...) and never sets errno.
 *
 * Thread safety:
 * - A struct syslet_chain is built, submitted and read by one thread at a
 *   time; different chains are independent. A chain that went
 *   asynchronous may be reaped in another thread than the one that
 *   submitted it (syslet_chain_reap() publishes its results to that
 *   thread).
 * - A struct syslet_ring may be submitted to by any number of threads at
 *   once (the kernel serialises the completions it posts), and
 *   syslet_ring_ready() and syslet_ring_wait*() may be called from any
 *   thread. Consuming (syslet_ring_peek*(), syslet_ring_advance(),
 *   syslet_ring_reap(), syslet_chain_reap()) must be done by one thread at
 *   a time: two consumers need a lock around them.
 * - syslet_ring_wait_timeout() is thread-safe; it uses a signal (see
 *   syslet_set_timeout_signal()).
 * - The threadlet and fd-space functions are thread-safe; a struct
 *   syslet_threadlet belongs to the thread that started it, but
 *   syslet_threadlet_wait() and syslet_threadlet_done() may be called
 *   from any thread.
 */
#ifndef SYSLET_H
#define SYSLET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
/* The uapi atom has a field named `private`, a C++ keyword: C++ sees it
 * as __syslet_private (linux/syslet.h includes no other header). */
#ifdef __cplusplus
#define private __syslet_private
#endif
#include <linux/syslet.h>
#ifdef __cplusplus
#undef private
#endif
#include <linux/fdspace.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYSLET_VERSION_MAJOR	1
#define SYSLET_VERSION_MINOR	0

/* ---- raw system calls ------------------------------------------------ */

/*
 * The subsystem's calls, returning the kernel's answer as a value or a
 * negative errno (errno is not touched). syslet_async_exec() returns the
 * address of the atom the chain stopped at, 0 when the chain went
 * asynchronous, or -errno.
 */
long syslet_async_exec(struct syslet_uatom *atom, struct async_head_user *ahu);
long syslet_async_wait(unsigned long min_wait_events, unsigned long user_ring_idx,
		       struct async_head_user *ahu);
long syslet_umem_add(unsigned long *uptr, unsigned long inc);

/*
 * A system call that touches neither errno nor any other thread-local
 * state: for threadlet bodies after their first possible block
 * (syslet_threadlet_start(3)). Returns the result or -errno.
 */
static inline long syslet_raw_syscall6(long nr, long a1, long a2, long a3,
				       long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* ---- the completion ring --------------------------------------------- */

/*
 * A completion ring: the head the kernel reads and writes, and its slots.
 * The structure must stay at the same address while any chain submitted
 * to it may still complete (the kernel writes head.kernel_ring_idx).
 */
struct syslet_ring {
	struct async_head_user head;
	struct syslet_uatom **slots;	/* == head.completion_ring */
	unsigned long nslots;
	unsigned int flags;		/* library-private */
};

#define SYSLET_RING_MAX_ENTRIES	(1U << 20)

/* 0, -EINVAL (NULL ring, 0 or more than SYSLET_RING_MAX_ENTRIES
 * entries), -ENOMEM. */
int syslet_ring_init(struct syslet_ring *ring, unsigned int entries);
/* Over caller memory: bytes a non-zero multiple of sizeof(pointer),
 * slots pointer-aligned; it is zeroed. 0 or -EINVAL. */
int syslet_ring_init_mem(struct syslet_ring *ring, struct syslet_uatom **slots,
			 size_t bytes);
/* Frees what syslet_ring_init() allocated. The caller makes sure no
 * chain still completes into the ring. */
void syslet_ring_exit(struct syslet_ring *ring);

/* Completions posted and not yet consumed (the indices' distance, which
 * wraps modulo 2^64 as the kernel's does). */
unsigned long syslet_ring_ready(const struct syslet_ring *ring);
/* The next completion without consuming it: 0, or -EAGAIN when there is
 * none. */
int syslet_ring_peek(struct syslet_ring *ring, struct syslet_uatom **atom);
/* Up to max completions in order without consuming them; their number. */
unsigned int syslet_ring_peek_batch(struct syslet_ring *ring,
				    struct syslet_uatom **atoms, unsigned int max);
/* Consumes n completions (clears their slots, advances the user index):
 * 0, or -EINVAL when fewer than n are there (nothing is consumed). */
int syslet_ring_advance(struct syslet_ring *ring, unsigned long n);

/* async_wait(): waits until at least min completions are there; returns
 * their number, or -EINVAL (min larger than the ring), -EINTR (a
 * signal), -EFAULT. */
long syslet_ring_wait(struct syslet_ring *ring, unsigned long min);
/*
 * The same with a timeout relative to now (CLOCK_MONOTONIC; NULL: none,
 * zero: do not sleep). The kernel's async_wait() has no timeout: the
 * library arms a per-thread POSIX timer that interrupts the wait with the
 * timeout signal at the deadline and every millisecond after it (so a
 * signal that arrives just before the wait enters the kernel is not
 * lost: the wait ends at most about a millisecond late then). Returns the
 * number of completions (at least min), -ETIME (the deadline passed
 * first), -EINTR (another signal interrupted the wait), -EINVAL (min
 * larger than the ring; tv_nsec outside 0..999999999 or tv_sec
 * negative), -EBUSY (the timeout signal has a handler that is not the
 * library's), -EAGAIN (no timer could be created), -EFAULT.
 */
long syslet_ring_wait_timeout(struct syslet_ring *ring, unsigned long min,
			      const struct timespec *timeout);
/* Waits for (timeout as above) and consumes one completion: 0 with
 * *atom set, or the errors of syslet_ring_wait_timeout(). */
int syslet_ring_reap(struct syslet_ring *ring, struct syslet_uatom **atom,
		     const struct timespec *timeout);

/*
 * The signal syslet_ring_wait_timeout() uses (default SIGRTMAX - 2). Its
 * handler, which does nothing, is installed without SA_RESTART at the
 * first wait that sleeps, if the signal has no handler then. 0, or
 * -EINVAL (not a real-time signal), -EBUSY (a timed wait is running).
 */
int syslet_set_timeout_signal(int signo);
int syslet_timeout_signal(void);

/* ---- chains ------------------------------------------------------------ */

/*
 * A chain: an array of atoms with their argument values and result
 * cells, all owned by the chain. Atoms are named by their index, in the
 * order they were added; an atom's arguments point into the chain unless
 * bound to a caller variable (syslet_atom_arg_ref()), its result goes to
 * the chain's cell unless redirected (syslet_atom_ret_ref()).
 *
 * Links: an atom added after another becomes that one's `next`, unless
 * the earlier atom was linked explicitly (syslet_atom_link(),
 * syslet_atom_branch()). Branches use the kernel's
 * SYSLET_SKIP_TO_NEXT_ON_STOP: on the stop condition the chain continues
 * at the atom added right after, otherwise at the link target.
 */
struct syslet_chain {
	struct syslet_uatom *atoms;
	unsigned long *args;		/* 6 per atom */
	long *results;			/* 1 per atom */
	unsigned char *state;		/* library-private, 1 per atom */
	unsigned int count, capacity;
	int busy;			/* submitted, not yet completed */
	int last;			/* where it stopped, or -1 */
	void *data;			/* the caller's */
	unsigned long magic;		/* library-private */
};

#define SYSLET_CHAIN_MAX_ATOMS	65536
/* Link target that ends the chain. */
#define SYSLET_END		(-1)
/* What a result cell holds until its atom has run (no system call
 * returns it). */
#define SYSLET_RESULT_UNSET	(-0x7fffffffffffffffL - 1)
/* syslet_chain_submit(): */
#define SYSLET_CHAIN_DONE	0	/* finished; results are there */
#define SYSLET_CHAIN_ASYNC	1	/* went asynchronous: reap it */

/* 0, -EINVAL (NULL, capacity 0 or above SYSLET_CHAIN_MAX_ATOMS), -ENOMEM. */
int syslet_chain_init(struct syslet_chain *chain, unsigned int capacity);
/* Frees the chain: 0, or -EBUSY while it is in flight (nothing freed). */
int syslet_chain_exit(struct syslet_chain *chain);
/* Removes every atom (to build another chain in the same memory): 0 or
 * -EBUSY. */
int syslet_chain_reset(struct syslet_chain *chain);

/* Appends an atom calling nr with nargs (0..6) arguments by value:
 * its index, or -EINVAL (nargs > 6, args NULL with nargs > 0), -ENOSPC
 * (full), -EBUSY (in flight). */
int syslet_chain_add(struct syslet_chain *chain, unsigned long nr,
		     unsigned int nargs, const unsigned long *args);
/* syslet_chain_call(chain, nr, arg...): the same, each argument cast to
 * unsigned long (pointers and negative ints alike). */
#define syslet_chain_call(chain, nr, ...)					\
	syslet_chain_add((chain), (nr), SYSLET__NARGS(__VA_ARGS__),		\
			 (const unsigned long[]){ 0, SYSLET__CASTS(			\
				SYSLET__NARGS(__VA_ARGS__), ##__VA_ARGS__) } + 1)

/*
 * Setting up atom `idx`: each returns 0, -EINVAL (idx not an atom of the
 * chain; the other checks named), or -EBUSY (in flight).
 *
 * set_arg:   argument i (0..5) takes the value v; i may be at most the
 *            atom's argument count (i equal to it adds an argument).
 * arg_ref:   argument i is read from *var when the atom runs (shared
 *            variables, loops with umem_add()); var not NULL; i as above.
 * arg_result: argument i is the result of atom src when the atom runs
 *            (open() then read() of what it opened): arg_ref on src's
 *            result cell; -EINVAL if src is no atom or stores no result.
 * ret_ref:   the result goes to *cell instead of the chain's cell; NULL:
 *            not stored at all.
 * set_flags: SYSLET_ASYNC, SYSLET_SYNC, SYSLET_NO_COMPLETE (replaces
 *            them); other bits or ASYNC with SYNC: -EINVAL.
 * stop_on:   SYSLET_STOP_ON_* bits (0 clears): the chain ends after this
 *            atom when its result meets one; other bits: -EINVAL.
 * link:      `next` is atom target, or SYSLET_END; target may be added
 *            later (below the capacity); syslet_chain_submit() refuses a
 *            link to an atom never added.
 * branch:    stop (non-zero SYSLET_STOP_ON_* bits) continues at idx + 1,
 *            otherwise at target (as for link): SYSLET_SKIP_TO_NEXT_ON_STOP.
 */
int syslet_atom_set_arg(struct syslet_chain *chain, int idx, unsigned int i,
			unsigned long v);
int syslet_atom_arg_ref(struct syslet_chain *chain, int idx, unsigned int i,
			unsigned long *var);
int syslet_atom_arg_result(struct syslet_chain *chain, int idx, unsigned int i, int src);
int syslet_atom_ret_ref(struct syslet_chain *chain, int idx, long *cell);
int syslet_atom_set_flags(struct syslet_chain *chain, int idx, unsigned long flags);
int syslet_atom_stop_on(struct syslet_chain *chain, int idx, unsigned long stop);
int syslet_atom_link(struct syslet_chain *chain, int idx, int target);
int syslet_atom_branch(struct syslet_chain *chain, int idx, unsigned long stop,
		       int target);

/* The atom's address (what the ring reports), or NULL for a bad idx. */
struct syslet_uatom *syslet_chain_atom(const struct syslet_chain *chain, int idx);
/* The index of an atom of this chain, or -EINVAL. */
int syslet_chain_index(const struct syslet_chain *chain, const struct syslet_uatom *atom);
/* The result cell of atom idx: SYSLET_RESULT_UNSET when it did not run
 * (or idx is bad, or its result was redirected). */
long syslet_chain_result(const struct syslet_chain *chain, int idx);
/* Where the chain stopped: an index, -EBUSY (in flight), -ENODATA (not
 * run since it was built). */
int syslet_chain_last(const struct syslet_chain *chain);

/*
 * Runs the chain from atom 0 with async_exec(): SYSLET_CHAIN_DONE (it
 * finished; syslet_chain_last() says where), SYSLET_CHAIN_ASYNC (an atom
 * blocked or was SYSLET_ASYNC: its completion will be in the ring, reap
 * it with syslet_chain_reap()), or -EINVAL (no ring, no atom, a link to
 * an atom never added, a branch from the last atom), -EBUSY (in flight),
 * or async_exec()'s errors (-EFAULT, -EINVAL, -EOPNOTSUPP, -EAGAIN,
 * -EINTR, -ECANCELED; atoms before the failing one have run). Result
 * cells are reset to SYSLET_RESULT_UNSET first.
 */
int syslet_chain_submit(struct syslet_chain *chain, struct syslet_ring *ring);
/*
 * Waits (timeout as for syslet_ring_wait_timeout()) for the next
 * completion of the ring, which must be a library chain's, consumes it
 * and marks that chain finished: 0 with *chain set, -EPROTO (the
 * completion is not a chain's: left in the ring), or the errors of
 * syslet_ring_wait_timeout().
 */
int syslet_chain_reap(struct syslet_ring *ring, struct syslet_chain **chain,
		      const struct timespec *timeout);

/*
 * Declares a chain finished without reaping it: for a chain that ended at
 * a SYSLET_NO_COMPLETE atom (nothing is posted for it; the caller knows
 * from its result cells that it is done). 0 or -EINVAL. Releasing a chain
 * the kernel still runs lets it be changed under the kernel's feet.
 */
int syslet_chain_release(struct syslet_chain *chain);

/* ---- threadlets -------------------------------------------------------- */

/*
 * A threadlet: fn(arg) runs inline on its own stack; if it blocks, the
 * caller goes on at once and fn finishes in a thread of its own. The
 * library marks it done only after fn's thread has left its stack, so the
 * stack may be freed (syslet_threadlet_release()) as soon as
 * syslet_threadlet_done() says 1. fn's contract (no TLS, errno, malloc or
 * stdio after it may have blocked; see syslet_threadlet_start(3)) is that
 * of tools/threadlet/threadlet.h. x86-64 only.
 */
struct syslet_threadlet {
	uint32_t done;			/* 1 when fn has returned (futex word) */
	uint32_t __pad;
	long result;			/* fn's return value */
	void *stack;
	size_t stack_size;
	unsigned int flags;		/* library-private */
};

#define SYSLET_THREADLET_STACK	(64 * 1024)
#define SYSLET_THREADLET_MIN_STACK 4096

/*
 * Starts fn(arg). stack NULL: the library maps one of stack_size bytes
 * (0: SYSLET_THREADLET_STACK) with a guard page. Returns
 * THREADLET_INLINE (fn ran to its end), THREADLET_WENT_ASYNC (fn blocked
 * and goes on in another thread), or -EINVAL (NULL t or fn; a stack
 * smaller than SYSLET_THREADLET_MIN_STACK), -ENOMEM, -EBUSY (the thread
 * is in threadlet mode already), -ENOSYS (no threadlets in the kernel).
 */
int syslet_threadlet_start(struct syslet_threadlet *t, long (*fn)(void *), void *arg,
			   void *stack, size_t stack_size);
/* 1 when fn has returned and its thread left the stack, else 0. */
int syslet_threadlet_done(const struct syslet_threadlet *t);
/* Waits until done (timeout relative, CLOCK_MONOTONIC; NULL: none): 0,
 * -ETIMEDOUT, -EINTR, -EINVAL (bad timeout or t). */
int syslet_threadlet_wait(struct syslet_threadlet *t, const struct timespec *timeout);
/* fn's return value once done; SYSLET_RESULT_UNSET before. */
long syslet_threadlet_result(const struct syslet_threadlet *t);
/* Unmaps a stack the library mapped: 0, -EBUSY (not done). */
int syslet_threadlet_release(struct syslet_threadlet *t);

/* ---- the private fd space --------------------------------------------- */

/* fdup(fd, flags): a private duplicate (FDUP_MOVE: fd moves): the new
 * descriptor, or -EBADF, -EINVAL (flags), -EMFILE, -ENOMEM. */
int syslet_fdup(int fd, unsigned int flags);
/* dup2(fd, NONLINEAR_FD): a private duplicate, or -EBADF, -EMFILE. */
int syslet_dup_private(int fd);
/* openat(dirfd, path, flags | O_NONLINEAR, mode): a private descriptor
 * or open's errors. */
int syslet_openat_private(int dirfd, const char *path, int flags, mode_t mode);
/* Closes every private descriptor (close_range() with
 * CLOSE_RANGE_NONLINEAR over the private numbers): 0 or -errno. */
int syslet_close_private_fds(void);
/* 1 if fd is a private descriptor's number, else 0 (no system call). */
static inline int syslet_fd_is_private(int fd)
{
	return fd >= 0 && (fd & NONLINEAR_FD) != 0;
}

/* ---- internals of the macros above ------------------------------------- */
#define SYSLET__NTH(_0, _1, _2, _3, _4, _5, _6, _7, N, ...) N
#define SYSLET__NARGS(...) SYSLET__NTH(0, ##__VA_ARGS__, 7, 6, 5, 4, 3, 2, 1, 0)
#define SYSLET__C(x) (unsigned long)(x)
#define SYSLET__CASTS0()
#define SYSLET__CASTS1(a) SYSLET__C(a)
#define SYSLET__CASTS2(a, b) SYSLET__C(a), SYSLET__C(b)
#define SYSLET__CASTS3(a, b, c) SYSLET__CASTS2(a, b), SYSLET__C(c)
#define SYSLET__CASTS4(a, b, c, d) SYSLET__CASTS3(a, b, c), SYSLET__C(d)
#define SYSLET__CASTS5(a, b, c, d, e) SYSLET__CASTS4(a, b, c, d), SYSLET__C(e)
#define SYSLET__CASTS6(a, b, c, d, e, f) SYSLET__CASTS5(a, b, c, d, e), SYSLET__C(f)
#define SYSLET__CASTS7(a, b, c, d, e, f, g) SYSLET__CASTS6(a, b, c, d, e, f), SYSLET__C(g)
#define SYSLET__CAT(a, b) a##b
#define SYSLET__CASTS(n, ...) SYSLET__CAT(SYSLET__CASTS, n)(__VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* SYSLET_H */
