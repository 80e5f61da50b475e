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
 * A new request for CB doing OP (with SA_OP_STARTED or SA_OP_HELPER: see
 * sa_read_now()),
 * or NULL with *ERR set: EINVAL for an
 * aio_reqprio out of [0, AIO_PRIO_DELTA_MAX] (glibc also sets the aiocb's
 * fields then), EAGAIN without memory. Only regular files and block
 * devices go to io_submit(): fs/aio.c would run a read of an empty pipe or
 * socket inside io_submit() and block the caller, so everything else is
 * glibc's (it falls back to read()/write() where pread() says ESPIPE).
 */
static struct sa_req *prepare(struct aiocb *cb, int op, struct sa_lio *lio, int *err)
{
	int started = !!(op & SA_OP_STARTED), helper = !!(op & SA_OP_HELPER);
	struct sa_req *r;
	struct stat st;

	op &= ~(SA_OP_STARTED | SA_OP_HELPER);
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
	if (op != SA_BAD && fstat(r->fd, &st) == 0 && sa_file_mode(st.st_mode)) {
		r->kind = helper ? SA_HELPER : SA_KERNEL;
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
	sa_free_deferred();
	for (int i = 0; i < n; i++) {
		errs[i] = 0;
		rv[i] = ops[i] < 0 ? NULL : prepare(list[i], ops[i], lio, &errs[i]);
	}

	pthread_mutex_lock(&sa_lock);
	for (int i = 0; i < n; i++) {
		struct sa_req *r = rv[i];

		if (!r)
			continue;
		if ((r->kind == SA_KERNEL && sa_ctx_ready_locked()) || r->kind == SA_HELPER) {
			fill_iocb(r);	/* a helper's read may go to the kernel */
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
	if (r->kind == SA_HELPER && !r->orphan) {
		/* the helper's: cancelled until it takes it (helper.c) */
		if (!sa_helper_cancel_locked(r)) {
			pthread_mutex_unlock(&sa_lock);
			return AIO_NOTCANCELED;
		}
		sa_finish_locked(r, ECANCELED, -1, &notes);
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
