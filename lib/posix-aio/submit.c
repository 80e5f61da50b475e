// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: starting requests (io_submit() or a glibc shadow),
 * cancelling them.
 */
#include "syslet_aio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * A new request for CB doing OP (with SA_OP_STARTED: see sa_read_now()),
 * or NULL with *ERR set: EINVAL for an
 * aio_reqprio out of [0, AIO_PRIO_DELTA_MAX] (glibc also sets the aiocb's
 * fields then), EAGAIN without memory. Only regular files and block
 * devices go to io_submit(): fs/aio.c would run a read of an empty pipe or
 * socket inside io_submit() and block the caller, so everything else is
 * glibc's (it falls back to read()/write() where pread() says ESPIPE).
 */
static struct sa_req *prepare(struct aiocb *cb, int op, struct sa_lio *lio, int *err)
{
	int started = !!(op & SA_OP_STARTED);
	struct sa_req *r;
	struct stat st;

	op &= ~SA_OP_STARTED;
	if (op == SA_FSYNC || op == SA_FDSYNC) {
		cb->aio_reqprio = 0;	/* as glibc's enqueue does */
	} else if (cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX) {
		cb->__error_code = EINVAL;
		cb->__return_value = -1;
		*err = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		*err = EAGAIN;
		return NULL;
	}
	sa_count(SA_ST_LIVE);
	r->cb = cb;
	r->fd = cb->aio_fildes;
	r->op = op;
	r->started = started;
	r->off = cb->aio_offset;
	r->len = cb->aio_nbytes;
	r->buf = (void *)cb->aio_buf;
	r->sev = cb->aio_sigevent;
	r->lio = lio;
	r->kind = SA_GLIBC;
	sa_shadow_init(r);
	if (op != SA_BAD && fstat(r->fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		r->kind = SA_KERNEL;
		if (op == SA_WRITE) {
			int fl = fcntl(r->fd, F_GETFL);

			r->append = fl >= 0 && (fl & O_APPEND);
		}
	}
	return r;
}

static void fill_iocb(struct sa_req *r)
{
	static const unsigned short cmd[] = {
		[SA_READ] = IOCB_CMD_PREAD, [SA_WRITE] = IOCB_CMD_PWRITE,
		[SA_FSYNC] = IOCB_CMD_FSYNC, [SA_FDSYNC] = IOCB_CMD_FDSYNC,
	};

	memset(&r->iocb, 0, sizeof r->iocb);
	r->iocb.aio_data = (uintptr_t)r;
	r->iocb.aio_lio_opcode = cmd[r->op];
	r->iocb.aio_fildes = (unsigned)r->fd;
	r->iocb.aio_buf = (uintptr_t)r->buf;
	r->iocb.aio_nbytes = r->len;
	r->iocb.aio_offset = r->off;
}

/*
 * The page cache's answer first. A read whose data is cached finishes
 * inside aio_read() with one preadv2(RWF_NOWAIT): no request, no
 * io_context, no event to reap, no thread woken. This is the syslet
 * promise (a call that does not block costs what a synchronous one does)
 * kept without moving the caller's context, whose TID must not change.
 *
 * Taken only where nothing observable differs from the queued path:
 * - no notification asked for (glibc sends it from another thread, after
 *   the call returns);
 * - no write or sync registered that the read could have to wait for;
 * - a length above 0 (an empty preadv2() skips the checks an empty
 *   pread() makes, and raises an inotify event pread() does not) and an
 *   offset that is not negative (preadv2() reads -1 as "the position");
 * - a regular file or a block device, whose reads take nothing away (a
 *   tun device's read takes a packet) and not O_DIRECT (a direct read
 *   with RWF_NOWAIT still waits for its I/O).
 * It succeeds when the kernel returned the whole range, or a regular
 * file's data up to its end as fstat() saw it. Anything else (EAGAIN:
 * not cached; a short read: partly cached; EOPNOTSUPP: tmpfs, /proc)
 * sends the read the usual way, which gives glibc's answer; if bytes
 * were already copied into the buffer the request counts as started
 * (aio_cancel() answers AIO_NOTCANCELED, never AIO_CANCELED with the
 * buffer written). The system calls are made with syscall(): neither a
 * cancellation point (aio_read() is not one) nor another library's
 * preadv2(). errno is left as it was.
 *
 * Misses in a row back off: after K of them the next 2^K - 1 reads (at
 * most 63) skip the attempt, so a cold workload pays one extra round of
 * system calls per 64 reads.
 *
 * Returns 1 when CB is finished (aio_read() then returns 0), 0 when the
 * buffer is untouched, -1 when bytes were copied into it.
 */
static unsigned nw_miss, nw_skip;

static int nowait_miss(int touched)
{
	unsigned m = __atomic_load_n(&nw_miss, __ATOMIC_RELAXED);

	m = m < 6 ? m + 1 : 6;
	__atomic_store_n(&nw_miss, m, __ATOMIC_RELAXED);
	__atomic_store_n(&nw_skip, (1u << m) - 1, __ATOMIC_RELAXED);
	return touched ? -1 : 0;
}

static int read_now(struct aiocb *cb)
{
	struct iovec iov = { (void *)cb->aio_buf, cb->aio_nbytes };
	long long off = cb->aio_offset;
	struct stat st;
	long n;
	int fl;

	if (fstat(cb->aio_fildes, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return nowait_miss(0);
	fl = fcntl(cb->aio_fildes, F_GETFL);
	if (fl < 0 || (fl & O_DIRECT))
		return nowait_miss(0);
	n = syscall(SYS_preadv2, cb->aio_fildes, &iov, 1L, (long)off, 0L, (long)RWF_NOWAIT);
	if (n < 0)
		return nowait_miss(0);
	if ((size_t)n != cb->aio_nbytes &&
	    !(S_ISREG(st.st_mode) && off + n == (long long)st.st_size))
		return nowait_miss(n > 0);
	__atomic_store_n(&nw_miss, 0, __ATOMIC_RELAXED);
	sa_count(SA_ST_NOWAIT);
	cb->__return_value = n;
	__atomic_store_n(&cb->__error_code, 0, __ATOMIC_RELEASE);
	sa_bump_gen();
	return 1;
}

int sa_read_now(struct aiocb *cb)
{
	const struct sigevent *sev = &cb->aio_sigevent;
	unsigned skip;
	int e, rc;

	if (!sa_nowait || cb->aio_offset < 0 || !cb->aio_nbytes || cb->aio_nbytes > SSIZE_MAX ||
	    cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX)
		return 0;
	if (sev->sigev_notify != SIGEV_NONE &&
	    !(sev->sigev_notify == SIGEV_SIGNAL && sev->sigev_signo == 0))
		return 0;
	if (!sa_only_reads())
		return 0;
	skip = __atomic_load_n(&nw_skip, __ATOMIC_RELAXED);
	if (skip) {
		__atomic_store_n(&nw_skip, skip - 1, __ATOMIC_RELAXED);
		return 0;
	}
	e = errno;
	rc = read_now(cb);
	errno = e;
	return rc;
}

/* A kernel request io_submit() refused (not for want of room) is glibc's. */
static int to_glibc(struct sa_req *r)
{
	pthread_mutex_lock(&sa_lock);
	sa_uncount_locked(r);
	sa_shadow_init(r);
	r->kind = SA_GLIBC;
	r->refs++;		/* the glibc waiter's */
	pthread_mutex_unlock(&sa_lock);
	return sa_shadow_start(r);
}

/*
 * Start the in-flight requests V[0..K), K <= SA_BATCH. ERRV[i]: 0, or why
 * V[i] did not start: EAGAIN (io_submit() out of room), or glibc's
 * synchronous error. io_submit() may take fewer than offered (the syslet
 * engine returns early when a write's context moved to another thread):
 * the rest is offered again. Any other refusal (EINVAL, EBADF, ...) sends
 * that request to glibc, whose answer is then the caller's.
 */
static void start(struct sa_req **v, int k, int *errv)
{
	struct iocb *cbs[SA_BATCH];
	int ki[SA_BATCH], nk = 0;

	for (int i = 0; i < k; i++) {
		if (v[i]->kind == SA_KERNEL) {
			cbs[nk] = &v[i]->iocb;
			ki[nk++] = i;
		} else {
			errv[i] = sa_shadow_start(v[i]);
		}
	}
	for (int done = 0; done < nk;) {
		long rc = sa_io_submit(cbs + done, nk - done);

		if (rc > 0) {
			for (long j = 0; j < rc; j++)
				errv[ki[done + j]] = 0;
			sa_count_n(SA_ST_KERNEL, rc);
			done += (int)rc;
			continue;
		}
		int e = rc == 0 ? EAGAIN : errno, i = ki[done++];

		if (e == EAGAIN || e == ENOMEM)
			errv[i] = EAGAIN;
		else
			errv[i] = to_glibc(v[i]);
	}
}

/*
 * Requests the pump let go: start them; those that cannot start finish
 * with the error (there is no caller left to tell synchronously).
 */
void sa_run_batch(struct sa_req *b)
{
	struct sa_req *v[SA_BATCH];
	int errv[SA_BATCH];

	while (b) {
		struct sa_notes notes = { 0 };
		int k = 0, failed = 0;

		while (b && k < SA_BATCH) {
			v[k++] = b;
			b = b->qnext;
		}
		start(v, k, errv);
		for (int i = 0; i < k; i++)
			failed |= errv[i];
		if (!failed)
			continue;
		pthread_mutex_lock(&sa_lock);
		for (int i = 0; i < k; i++) {
			if (!errv[i])
				continue;
			int glibc = v[i]->kind == SA_GLIBC;

			sa_finish_locked(v[i], errv[i], -1, &notes);
			if (glibc)
				sa_drop_locked(v[i]);	/* never handed to glibc */
		}
		struct sa_req *more = sa_pump_locked();

		pthread_mutex_unlock(&sa_lock);
		sa_after(&notes, NULL);
		/* what the failures let go starts before the rest */
		if (more) {
			struct sa_req **t = &more;

			while (*t)
				t = &(*t)->qnext;
			*t = b;
			b = more;
		}
	}
	sa_poll_need();
}

/*
 * Submit LIST[0..N) with operations OPS[i] (negative: skip) in group LIO.
 * ERRS[i]: 0 when LIST[i] was accepted, else the errno of its synchronous
 * failure. Returns how many were accepted.
 */
int sa_submit(struct aiocb *const list[], int n, const int *ops, struct sa_lio *lio, int *errs)
{
	struct sa_req *small[8], **rv = n <= 8 ? small : calloc((size_t)n, sizeof *rv);
	struct sa_req *sv[SA_BATCH];
	int se[SA_BATCH], si[SA_BATCH];
	struct sa_notes notes = { 0 };
	int accepted = 0, kernel = 0, notify = 0;

	if (!rv) {
		for (int i = 0; i < n; i++)
			errs[i] = ops[i] < 0 ? 0 : EAGAIN;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		errs[i] = 0;
		rv[i] = ops[i] < 0 ? NULL : prepare(list[i], ops[i], lio, &errs[i]);
	}

	pthread_mutex_lock(&sa_lock);
	for (int i = 0; i < n; i++) {
		struct sa_req *r = rv[i];

		if (!r)
			continue;
		if (r->kind == SA_KERNEL && sa_ctx_ready_locked()) {
			fill_iocb(r);
		} else if (r->kind == SA_KERNEL) {
			r->kind = SA_GLIBC;	/* no io_context to be had */
			sa_shadow_init(r);
		}
		r->refs = r->kind == SA_GLIBC ? 2 : 1;
		r->cb->__error_code = EINPROGRESS;
		r->cb->__return_value = 0;
		sa_register_locked(r);
		if (lio)
			lio->left++;
		accepted++;
		if (r->op == SA_BAD) {
			/* glibc accepts any opcode in a list and fails it later */
			r->state = SA_INFLIGHT;
			sa_finish_locked(r, EINVAL, -1, &notes);
			sa_drop_locked(r);
			rv[i] = NULL;
			if (notes.n >= SA_NOTES - 2) {
				/*
				 * Sent out of the lock before the list fills: a
				 * handler may call aio_*() (submitting the rest
				 * leaves the same window as the unlock below).
				 */
				pthread_mutex_unlock(&sa_lock);
				sa_after(&notes, NULL);
				pthread_mutex_lock(&sa_lock);
			}
		} else if (!sa_admit_locked(r)) {
			rv[i] = NULL;	/* queued: the pump starts it */
		}
	}
	pthread_mutex_unlock(&sa_lock);
	sa_after(&notes, NULL);

	for (int i = 0; i < n;) {
		int k = 0;

		for (; i < n && k < SA_BATCH; i++) {
			if (!rv[i])
				continue;
			kernel |= rv[i]->kind == SA_KERNEL;
			/* (a zeroed sigevent is SIGEV_SIGNAL with signal 0: none) */
			notify |= (rv[i]->sev.sigev_notify == SIGEV_SIGNAL &&
				   rv[i]->sev.sigev_signo > 0) ||
				  rv[i]->sev.sigev_notify == SIGEV_THREAD;
			si[k] = i;
			sv[k++] = rv[i];
		}
		if (!k)
			break;
		start(sv, k, se);
		for (int j = 0; j < k; j++) {
			struct sa_req *r = sv[j];

			if (!se[j])
				continue;
			/* withdrawn: the caller reports it (glibc's fields) */
			pthread_mutex_lock(&sa_lock);
			int glibc = r->kind == SA_GLIBC;
			struct aiocb *cb = r->cb;

			if (glibc && r->shadow.__error_code != EINPROGRESS) {
				cb->__return_value = r->shadow.__return_value;
				cb->__error_code = r->shadow.__error_code;
			} else {
				cb->__return_value = -1;
				cb->__error_code = se[j];
			}
			sa_finish_locked(r, 0, 0, NULL);
			if (glibc)
				sa_drop_locked(r);	/* never handed to glibc */
			struct sa_req *more = sa_pump_locked();

			pthread_mutex_unlock(&sa_lock);
			sa_after(NULL, more);
			errs[si[j]] = se[j];
			accepted--;
		}
	}
	if (rv != small)
		free(rv);
	/* A cached read completed inside io_submit(): finish it now, unless
	 * a notification is asked for: that one the reaper sends, from
	 * another thread, after this call returned (as glibc's worker does). */
	if (kernel && !notify && sa_ring_has_events())
		sa_reap();
	if (kernel)
		sa_poll_need();	/* the reaper, if it must see this one */
	return accepted;
}

/*
 * Cancel R (the caller holds a reference): AIO_CANCELED, AIO_NOTCANCELED
 * or AIO_ALLDONE. Queued: cancelled here. Kernel: io_cancel(); stock
 * Linux answers -EINVAL for reads and writes (AIO_NOTCANCELED); a kernel
 * that can cancel answers -EINPROGRESS and later posts the request's
 * event, -ECANCELED if it moved nothing: we wait for that event. glibc's:
 * glibc's aio_cancel() on the shadow.
 */
int sa_cancel_one(struct sa_req *r)
{
	struct sa_notes notes = { 0 };
	struct sa_req *batch;
	int res = AIO_NOTCANCELED;

	pthread_mutex_lock(&sa_lock);
	if (r->state == SA_DONE) {
		pthread_mutex_unlock(&sa_lock);
		return AIO_ALLDONE;
	}
	if (r->state == SA_QUEUED && r->started) {
		/* its buffer already holds data (sa_read_now()): it runs */
		pthread_mutex_unlock(&sa_lock);
		return AIO_NOTCANCELED;
	}
	if (r->state == SA_QUEUED) {
		int glibc = r->kind == SA_GLIBC;

		sa_finish_locked(r, ECANCELED, -1, &notes);
		if (glibc)
			sa_drop_locked(r);	/* never handed to glibc */
		batch = sa_pump_locked();
		pthread_mutex_unlock(&sa_lock);
		sa_after(&notes, batch);
		return AIO_CANCELED;
	}
	int kind = r->kind, orphan = r->orphan;

	pthread_mutex_unlock(&sa_lock);
	if (orphan)
		return AIO_NOTCANCELED;

	if (kind == SA_GLIBC) {
		int rc = sa_real.cancel(r->fd, &r->shadow);
		int e = __atomic_load_n(&r->shadow.__error_code, __ATOMIC_ACQUIRE);

		pthread_mutex_lock(&sa_lock);
		if (rc == AIO_CANCELED) {
			sa_finish_locked(r, ECANCELED, -1, &notes);
			res = AIO_CANCELED;
		} else if (rc != AIO_NOTCANCELED && e != EINPROGRESS) {
			/* glibc is done; its waiter may not have seen it yet */
			sa_finish_locked(r, e, r->shadow.__return_value, &notes);
			res = AIO_ALLDONE;
		}
		batch = sa_pump_locked();
		pthread_mutex_unlock(&sa_lock);
		sa_after(&notes, batch);
		return res;
	}

	struct io_event ev;
	long rc;

	sa_count(SA_ST_CANCEL);
	rc = syscall(SYS_io_cancel, sa_ctx(), &r->iocb, &ev);
	if (rc == 0) {
		/* older kernels hand the event back here, not in the ring */
		pthread_mutex_lock(&sa_lock);
		if (ev.res < 0)
			sa_finish_locked(r, (int)-ev.res, -1, &notes);
		else
			sa_finish_locked(r, 0, (ssize_t)ev.res, &notes);
		batch = sa_pump_locked();
		pthread_mutex_unlock(&sa_lock);
		sa_after(&notes, batch);
		return ev.res == -ECANCELED ? AIO_CANCELED : AIO_NOTCANCELED;
	}
	if (errno != EINPROGRESS)
		return __atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == SA_DONE ? AIO_ALLDONE
									: AIO_NOTCANCELED;
	for (;;) {
		uint32_t g = __atomic_load_n(&sa_gen, __ATOMIC_SEQ_CST);

		if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == SA_DONE)
			break;
		if (sa_ring_has_events())
			sa_reap();
		if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == SA_DONE)
			break;
		sa_wait(g, NULL, 0, SA_W_NEED);
	}
	return __atomic_load_n(&r->cb->__error_code, __ATOMIC_ACQUIRE) == ECANCELED
		       ? AIO_CANCELED : AIO_NOTCANCELED;
}
