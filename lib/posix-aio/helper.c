// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: the helper thread, a second CPU for cached reads.
 *
 * glibc runs every request on one of its threads, so a program that
 * submits a run of reads (fio at queue depth 64) has their copies made
 * on the other CPU while it goes on submitting. The page-cache attempt
 * inside aio_read() (cached.c) makes them all on the caller's CPU. So
 * when reads come in a run, the first stays inline and the next ones go
 * to one helper thread, while fewer than SA_HELPER_QUEUE wait for it;
 * with a full queue the caller reads inline itself, so both CPUs copy.
 * A caller's run ends when it looks at its requests (aio_error(),
 * aio_return(), aio_suspend()): a program that waits for each read
 * (queue depth 1) never hands one over.
 *
 * A handed read is an ordinary request (kind SA_HELPER) in the table and
 * in its descriptor's list, put in the helper's queue under the lock that
 * admits it (so nothing sees it admitted and not queued): a later write
 * or fsync on the descriptor waits for it as for any other (core.c),
 * aio_cancel() cancels it while it is in the queue (AIO_CANCELED) and
 * answers AIO_NOTCANCELED once the helper has it, and fork() leaves it
 * to the child as it leaves a kernel request (core.c): queued,
 * cancellable, never started; taken, never finished. The helper makes
 * the same attempt as the inline path (sa_cached_read()); a miss becomes
 * a kernel request (or glibc's: no io_context, or the descriptor is no
 * longer a file) queued the usual way, started if bytes were copied.
 *
 * The helper must not sleep with reads queued behind it. It reads only
 * into a buffer whose pages are all resident (mincore()): a page never
 * touched, swapped out, or on a userfaultfd or FUSE mapping would fault,
 * and such a read is passed on to the kernel, whose async thread takes
 * the fault. A fault it cannot foresee (a write-protected userfaultfd
 * page; a file mapping mincore() calls resident because the caller may
 * not write the file) is caught late: when the helper has been on one
 * read for SA_HELPER_STUCK_MS, the reaper's next look (every
 * SA_HELPER_WATCH_MS while the helper has reads) or the next aio_read()
 * passes every queued read on (sa_helper_watch()), and no more are
 * handed over until it is done. Never from aio_suspend(), which a
 * signal handler may call.
 *
 * Only with two CPUs or more in the process's affinity mask, and
 * unless SYSLET_AIO_HELPER=0; SYSLET_AIO_HELPER=2 hands over every read
 * that the inline path could make (the conformance suite's "helper" run).
 * One thread at most, created by aio_read() (never in a signal handler's
 * aio_suspend()), with every signal blocked, and only with an io_context
 * (whose reaper watches it, and into which it passes reads on; made by
 * aio_read() too); none in a fork() child until it hands one over.
 *
 * Locking: the queue (hq_*) and in_hq are under sa_lock.
 */
#include "syslet_aio.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SA_HELPER_QUEUE 8	/* reads waiting for the helper, at most */
#define SA_HELPER_STUCK_MS 20	/* on one read this long: pass the queue on */

enum { H_OFF, H_AUTO, H_ALL };

static int helper_mode;		/* H_*, set once by sa_helper_init() */
static struct sa_req *hq_head, *hq_tail;
static unsigned hq_len;		/* written under sa_lock, read without */
static uint32_t hq_seq;		/* the helper's futex: bumped per push */
static int helper_up;		/* the thread runs (1) or cannot (-1) */
static int helper_asleep, helper_kick;
/* the read the helper makes: its number (odd while it runs), its start */
static uint64_t busy_seq, busy_ns;

/* Requests the calling thread submitted since it last looked at one. */
static __thread unsigned run_len __attribute__((tls_model("initial-exec")));

void sa_helper_init(int env)
{
	cpu_set_t cpus;

	if (env == '0')
		return;
	if (env == '2') {
		helper_mode = H_ALL;
		return;
	}
	if (!sched_getaffinity(0, sizeof cpus, &cpus) && CPU_COUNT(&cpus) >= 2)
		helper_mode = H_AUTO;
}

void sa_helper_run_ends(void)
{
	run_len = 0;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The helper has been on one read for SA_HELPER_STUCK_MS. */
static int stuck(void)
{
	uint64_t s = __atomic_load_n(&busy_seq, __ATOMIC_ACQUIRE);

	return (s & 1) && now_ns() - __atomic_load_n(&busy_ns, __ATOMIC_RELAXED) >
				  SA_HELPER_STUCK_MS * 1000000ull;
}

static void *helper(void *arg);

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/* Start the helper thread (without the lock); 0 if it cannot be had. */
static int start(void)
{
	int rc;

	pthread_mutex_lock(&start_lock);
	if (__atomic_load_n(&helper_up, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&start_lock);
		return helper_up > 0;
	}
	/* the io_context and its reaper first (see above) */
	pthread_mutex_lock(&sa_lock);
	rc = sa_ctx_ready_locked();
	pthread_mutex_unlock(&sa_lock);
	if (!rc) {
		__atomic_store_n(&helper_up, -1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&start_lock);
		return 0;
	}
	rc = sa_spawn(helper, NULL, 256 * 1024, "syslet-aio-rd");
	__atomic_store_n(&helper_up, rc ? -1 : 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&start_lock);
	return !rc;
}

/*
 * Whether aio_read() hands its (eligible) read to the helper (1), reads
 * it inline (0), or neither (-1: the helper is stuck in a fault, which
 * the caller's buffer may share: io_submit()). SKIP: the page-cache
 * attempt is backing off after misses (cached.c); the helper would only
 * pass such a read on. Starts the thread if need be.
 */
int sa_helper_take(int skip)
{
	if (helper_mode == H_OFF)
		return 0;
	if (sa_helper_watch())
		return -1;
	if (helper_mode == H_AUTO &&
	    (skip || run_len++ == 0 || __atomic_load_n(&hq_len, __ATOMIC_RELAXED) >= SA_HELPER_QUEUE))
		return 0;
	return __atomic_load_n(&helper_up, __ATOMIC_ACQUIRE) > 0 || start();
}

static void unlink_locked(struct sa_req *r)
{
	struct sa_req *prev = NULL;

	for (struct sa_req *p = hq_head; p; prev = p, p = p->hq_next) {
		if (p != r)
			continue;
		if (prev)
			prev->hq_next = p->hq_next;
		else
			hq_head = p->hq_next;
		if (hq_tail == p)
			hq_tail = prev;
		__atomic_store_n(&hq_len, hq_len - 1, __ATOMIC_SEQ_CST);
		break;
	}
	r->hq_next = NULL;
	r->in_hq = 0;
}

/*
 * R, not the helper's to make (a miss, or passed on): a kernel request,
 * or glibc's (GLIBC: the descriptor is no longer a file; or no
 * io_context), queued the usual way. With the lock.
 */
static void pass_on_locked(struct sa_req *r, int glibc)
{
	if (!glibc && sa_ctx_ready_locked()) {
		r->kind = SA_KERNEL;	/* its iocb was filled at submission */
	} else {
		r->kind = SA_GLIBC;
		sa_shadow_init(r);
		r->refs++;		/* the glibc waiter's */
	}
	sa_enqueue_locked(r);
}

/* Every page of BUF[0..LEN) is resident: a copy into it cannot fault. */
static int resident(void *buf, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t p = (uintptr_t)buf & ~(page - 1), end = ((uintptr_t)buf + len + page - 1) & ~(page - 1);
	unsigned char vec[16];

	while (p < end) {
		size_t k = (end - p) / page < 16 ? (end - p) / page : 16;

		if (mincore((void *)p, k * page, vec))
			return 0;
		for (size_t i = 0; i < k; i++)
			if (!(vec[i] & 1))
				return 0;
		p += k * page;
	}
	return 1;
}

/*
 * Make the read R (taken: out of the queue, with a reference of ours):
 * finish it from the page cache, or pass it on.
 */
static void run(struct sa_req *r)
{
	struct sa_notes notes = { 0 };
	struct sa_req *batch;
	int rc = SA_CR_MISS;
	long n = 0;

	if (resident(r->buf, r->len))
		rc = sa_cached_read(r->fd, r->buf, r->len, r->off, &n);

	pthread_mutex_lock(&sa_lock);
	if (rc == SA_CR_DONE) {
		sa_count(SA_ST_HELPER_HIT);
		if (n < 0)
			sa_finish_locked(r, (int)-n, -1, &notes);
		else
			sa_finish_locked(r, 0, n, &notes);
	} else {
		r->started = rc == SA_CR_TOUCHED;
		pass_on_locked(r, rc == SA_CR_OTHER);
	}
	batch = sa_pump_locked();
	sa_drop_locked(r);
	pthread_mutex_unlock(&sa_lock);
	sa_after(&notes, batch);
	/* a waiter that saw a helper's read looks again: now it is in the
	 * io_context, whose events it can reap itself */
	if (rc != SA_CR_DONE)
		sa_bump_gen();
}

static void *helper(void *arg)
{
	for (;;) {
		struct sa_req *r;

		pthread_mutex_lock(&sa_lock);
		while (!hq_head) {
			uint32_t seq = hq_seq;

			helper_asleep = 1;
			pthread_mutex_unlock(&sa_lock);
			syscall(SYS_futex, &hq_seq, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, seq, NULL, NULL, 0);
			pthread_mutex_lock(&sa_lock);
			helper_asleep = 0;
		}
		r = hq_head;
		unlink_locked(r);
		r->refs++;
		__atomic_store_n(&busy_ns, now_ns(), __ATOMIC_RELAXED);
		__atomic_add_fetch(&busy_seq, 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&sa_lock);
		run(r);
		__atomic_add_fetch(&busy_seq, 1, __ATOMIC_RELEASE);
	}
	return arg;
}

/*
 * Queue the admitted read R for the helper (with the lock). An SA_HELPER
 * read is only made once the helper is up (sa_helper_take()), which it
 * stays but in a fork() child, whose queues start empty.
 */
void sa_helper_queue_locked(struct sa_req *r)
{
	sa_count(SA_ST_HELPER);
	r->hq_next = NULL;
	r->in_hq = 1;
	if (hq_tail)
		hq_tail->hq_next = r;
	else
		hq_head = r;
	hq_tail = r;
	__atomic_store_n(&hq_len, hq_len + 1, __ATOMIC_SEQ_CST);
	hq_seq++;
	if (helper_asleep)
		__atomic_store_n(&helper_kick, 1, __ATOMIC_RELAXED);
}

/* After the lock: wake the helper if a queued read needs it; have the
 * reaper watch it if it sleeps without a timeout. */
void sa_helper_wake(void)
{
	if (__atomic_load_n(&helper_kick, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&helper_kick, 0, __ATOMIC_RELAXED))
		syscall(SYS_futex, &hq_seq, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
	if (sa_helper_pending())
		sa_reaper_watch_helper();
}

/* The helper has reads: queued, or one it makes. */
int sa_helper_active(void)
{
	return sa_helper_pending() || (__atomic_load_n(&busy_seq, __ATOMIC_SEQ_CST) & 1);
}

/* Reads wait in the helper's queue. */
int sa_helper_pending(void)
{
	return __atomic_load_n(&hq_len, __ATOMIC_SEQ_CST) != 0;
}

/*
 * aio_cancel() of the handed read R (with the lock): 1 when it was still
 * in the queue and is now out of it (the caller finishes it cancelled),
 * 0 when the helper has it.
 */
int sa_helper_cancel_locked(struct sa_req *r)
{
	if (!r->in_hq)
		return 0;
	unlink_locked(r);
	return 1;
}

/*
 * If the helper is stuck on one read, pass every queued read on to the
 * kernel (or to glibc, if its number now names a pipe or the like).
 * Returns 0 when it is not stuck, 2 when reads were passed on, 1 when
 * there were none. Called by aio_read() and the reaper, never from a
 * signal handler.
 */
int sa_helper_watch(void)
{
	struct sa_req *batch;

	if (!stuck())
		return 0;
	if (!__atomic_load_n(&hq_len, __ATOMIC_SEQ_CST))
		return 1;
	pthread_mutex_lock(&sa_lock);
	while (hq_head) {
		struct sa_req *r = hq_head;
		struct stat st;

		unlink_locked(r);
		pass_on_locked(r, !fstat(r->fd, &st) && !sa_file_mode(st.st_mode));
	}
	batch = sa_pump_locked();
	pthread_mutex_unlock(&sa_lock);
	sa_after(NULL, batch);
	sa_bump_gen();
	return 2;
}

/*
 * fork() child (the lock reinitialised, one thread): no helper; reads
 * still queued for the parent's stay queued and never start here
 * (aio_cancel() cancels them); taken ones never finish (core.c).
 */
void sa_helper_fork_child(void)
{
	for (struct sa_req *r = hq_head, *next; r; r = next) {
		next = r->hq_next;
		r->hq_next = NULL;
		r->in_hq = 0;
		r->state = SA_QUEUED;
	}
	hq_head = hq_tail = NULL;
	hq_len = 0;
	hq_seq = 0;
	helper_up = 0;
	helper_asleep = helper_kick = 0;
	busy_seq = 0;
	pthread_mutex_init(&start_lock, NULL);
}
