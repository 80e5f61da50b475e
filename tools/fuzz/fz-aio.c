// SPDX-License-Identifier: GPL-2.0
/*
 * fs/aio.c through libaio (Documentation/aio.md): io_setup, io_submit of
 * random iocbs (every opcode, descriptor kind, buffer kind, rw flag,
 * eventfd), io_getevents, io_cancel, io_destroy with requests in flight,
 * submissions from the main thread and from others (the cachemiss write
 * path), while the supervisor flips kernel.syslet_aio under load.
 *
 * Invariants: io_submit() never reports more than it was given; every
 * event belongs to a request in flight and comes once; every request other
 * than a POLL completes (before teardown's deadline); a read or write never
 * reports more bytes than asked; data written and read back through aio
 * match (op_aio_verify).
 */
#include "fuzz.h"
#include <libaio.h>
#include <linux/fs.h>
#include <poll.h>
#include <sys/eventfd.h>

#define MAX_REQ	256

struct req {
	struct iocb cb;
	/* PREADV/PWRITEV's vector: here, where no buffer, chain result or
	 * earlier request of the batch can write (a read completed inside
	 * io_submit() into the data area once changed a later iocb's
	 * iov_len: seed 20261203 iteration 370, "PWRITEV of 512 bytes
	 * completed with 67098") */
	struct iovec iov[2];
	int live;
	int op;
	long nbytes;
	int cancelled;		/* io_cancel() said -EINPROGRESS */
};

struct aio_state {
	io_context_t ctx;
	int ok;
	pthread_mutex_t lock;
	struct req req[MAX_REQ];
	int nlive;
	int efd;
};

static struct aio_state *state(struct ctx *c)
{
	struct aio_state *s = c->aio;

	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		pthread_mutex_init(&s->lock, NULL);
		s->efd = -1;
		c->aio = s;
	}
	return s;
}

static const char *op_name(int op)
{
	static const char *const n[] = { "PREAD", "PWRITE", "FSYNC", "FDSYNC", "op4", "POLL",
					 "NOOP", "PREADV", "PWRITEV" };
	return op >= 0 && op <= 8 ? n[op] : "unknown";
}

/* Takes every event there is (waiting up to ms for at least one when
 * anything is in flight). Returns how many. */
static int collect(struct ctx *c, struct aio_state *s, int ms)
{
	struct io_event ev[64];
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	int n, i, total = 0;

	for (;;) {
		n = io_getevents(s->ctx, ms && !total && s->nlive ? 1 : 0, 64, ev, &ts);
		count_exec(c, 1);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			struct req *q = (struct req *)ev[i].obj;
			long res = (long)ev[i].res;

			check(c);
			if (q < s->req || q >= s->req + MAX_REQ || (long)ev[i].data != (long)(q - s->req)) {
				fail(c, "io_getevents returned an event for iocb %p (data %#llx) we never submitted",
				     (void *)ev[i].obj, (unsigned long long)ev[i].data);
				continue;
			}
			pthread_mutex_lock(&s->lock);
			if (!q->live) {
				pthread_mutex_unlock(&s->lock);
				fail(c, "a second event for aio request %ld (%s)", (long)(q - s->req),
				     op_name(q->op));
				continue;
			}
			q->live = 0;
			s->nlive--;
			pthread_mutex_unlock(&s->lock);
			/* syslet/aio/cancel.rs: -ECANCELED only after an io_cancel()
			 * that took the request (a read, write or fsync) */
			if (res == -ECANCELED && (!q->cancelled || q->op == 5 || q->op == 6))
				fail(c, "aio %s completed with -ECANCELED but was not cancelled",
				     op_name(q->op));
			cov(c, "aio:event:%s:%s", op_name(q->op), res >= 0 ? "ok" : errname(-res));
			if ((q->op == 0 || q->op == 1 || q->op == 7 || q->op == 8) && res > q->nbytes)
				fail(c, "aio %s of %ld bytes completed with %ld", op_name(q->op), q->nbytes, res);
			if (res >= -516 && res <= -512)
				fail(c, "aio %s completed with the kernel-internal code %ld", op_name(q->op), res);
		}
		total += n;
		ms = 0;
	}
	return total;
}

static int ensure_ctx(struct ctx *c, struct rng *r, struct aio_state *s)
{
	static const int nrs[] = { 1, 8, 64, 128 };
	long ret;

	if (s->ok)
		return 0;
	if (chance(r, 5)) {	/* the error paths of io_setup */
		io_context_t bad = 0;
		int k = rnd(r, 3);

		ret = k == 0 ? io_setup(0, &bad) : k == 1 ? io_setup(-1, &bad) :
		      syscall(__NR_io_setup, 8, ptr_kind(c, r, pick_bad_kind(r), 8)) ? -errno : 0;
		cov_err(c, "io_setup", ret);
		if (!ret && k < 2)
			io_destroy(bad);
	}
	s->ctx = 0;
	ret = io_setup(nrs[rnd(r, 4)], &s->ctx);
	count_exec(c, 1);
	cov_err(c, "io_setup", ret);
	if (ret)
		return -1;
	s->ok = 1;
	if (s->efd < 0)
		s->efd = eventfd(0, EFD_NONBLOCK);
	return 0;
}

static int aio_fd(struct ctx *c, struct rng *r, int *kind)
{
	int k = rnd(r, 10);

	*kind = FK_NONE;
	if (k < 3 && c->blkfd >= 0) {
		*kind = FK_BLKDEV;
		return c->blkfd;
	}
	pthread_mutex_lock(&c->fd_lock);
	for (int i = 0; i < c->nfds; i++)
		if ((c->fds[i].kind == FK_FILE || c->fds[i].kind == FK_SLOWFILE ||
		     c->fds[i].kind == FK_MEMFD) && (k >= 6 || rnd(r, 2))) {
			*kind = c->fds[i].kind;
			k = c->fds[i].fd;
			pthread_mutex_unlock(&c->fd_lock);
			return k;
		}
	pthread_mutex_unlock(&c->fd_lock);
	return pick_fd(c, r, 0);
}

struct batch {
	struct ctx *c;
	struct aio_state *s;
	struct iocb *cbp[32];
	int n, first;
	long ret;
};

static void *submit_thread(void *arg)
{
	struct batch *b = arg;

	b->ret = io_submit(b->s->ctx, b->n, b->cbp);
	return NULL;
}

void op_aio(struct ctx *c, struct rng *r)
{
	struct aio_state *s = state(c);
	struct batch b = { .c = c };
	int i, k, kinds[32], in_thread = chance(r, 35), bad_ptr = -1;
	long ret;

	if (!s || ensure_ctx(c, r, s))
		return;
	b.s = s;
	b.n = 1 + rnd(r, 16);
	pthread_mutex_lock(&s->lock);
	for (i = 0, k = 0; i < MAX_REQ && k < b.n; i++)
		if (!s->req[i].live)
			kinds[k++] = i;
	pthread_mutex_unlock(&s->lock);
	b.n = k;
	for (k = 0; k < b.n; k++) {
		struct req *q = &s->req[kinds[k]];
		struct iocb *cb = &q->cb;
		int op = rnd(r, 20), fk, fd = aio_fd(c, r, &fk);

		q->cancelled = 0;
		long len = (long[]){ 0, 512, 4096, 4096, 8192, 65536, 1 << 20 }[rnd(r, 7)];
		long long off = fk == FK_BLKDEV ? 4096LL * rnd(r, 1 << 18) : 4096LL * rnd(r, 32);
		void *buf;
		int bk = PK_VALID;

		op = op < 6 ? IO_CMD_PREAD : op < 11 ? IO_CMD_PWRITE : op < 12 ? IO_CMD_FSYNC :
		     op < 13 ? IO_CMD_FDSYNC : op < 14 ? IO_CMD_POLL : op < 15 ? IO_CMD_NOOP :
		     op < 17 ? IO_CMD_PREADV : op < 19 ? IO_CMD_PWRITEV : 9 + rnd(r, 100);
		if (chance(r, 10))
			bk = pick_bad_kind(r);
		buf = ptr_kind(c, r, bk, len > 65536 ? 65536 : len);
		if (len > 65536 && bk == PK_VALID)
			buf = c->data;	/* 1 MiB from a 64 KiB area: -EFAULT partway */
		memset(cb, 0, sizeof(*cb));
		switch (op) {
		case IO_CMD_PREAD: io_prep_pread(cb, fd, buf, len, off); break;
		case IO_CMD_PWRITE: io_prep_pwrite(cb, fd, buf, len, off); break;
		case IO_CMD_FSYNC: io_prep_fsync(cb, fd); break;
		case IO_CMD_FDSYNC: io_prep_fdsync(cb, fd); break;
		case IO_CMD_POLL: io_prep_poll(cb, fd, POLLIN | POLLOUT); break;
		case IO_CMD_PREADV: case IO_CMD_PWRITEV: {
			struct iovec *iov = q->iov;

			iov[0] = (struct iovec){ buf, len / 2 };
			iov[1] = (struct iovec){ (char *)buf + len / 2, len - len / 2 };
			if (op == IO_CMD_PREADV)
				io_prep_preadv(cb, fd, iov, 2, off);
			else
				io_prep_pwritev(cb, fd, iov, 2, off);
			/* the kernel reads the iovecs at submission */
			break;
		}
		default:
			cb->aio_fildes = fd;
			cb->aio_lio_opcode = op;
			break;
		}
		if (chance(r, 15))
			cb->aio_rw_flags = (int[]){ RWF_NOWAIT, RWF_HIPRI, RWF_DSYNC, RWF_SYNC,
						    RWF_APPEND, 1 << 20 }[rnd(r, 6)];
		if (chance(r, 15))
			io_set_eventfd(cb, chance(r, 80) ? s->efd : pick_fd(c, r, 0));
		cb->data = (void *)(long)kinds[k];
		q->op = op;
		q->nbytes = op == IO_CMD_PREADV || op == IO_CMD_PWRITEV || op <= 1 ? len : 0;
		b.cbp[k] = cb;
		cov(c, "aio:submit:%s:%s", op_name(op), fd_kind_name[fk]);
		cov(c, "ptr:aio-buffer:%s", ptr_kind_name[bk]);
	}
	if (b.n && chance(r, 5)) {
		bad_ptr = rnd(r, b.n);
		b.cbp[bad_ptr] = ptr_kind(c, r, pick_bad_kind(r), sizeof(struct iocb));
		cov(c, "ptr:iocb:bad");
	}
	/* In flight from the kernel's point of view before io_submit returns:
	 * mark them first, unmark what it did not take. */
	pthread_mutex_lock(&s->lock);
	for (k = 0; k < b.n; k++)
		if (k != bad_ptr) {
			s->req[kinds[k]].live = 1;
			s->nlive++;
		}
	pthread_mutex_unlock(&s->lock);
	if (in_thread) {
		pthread_t t;

		if (pthread_create(&t, NULL, submit_thread, &b))
			b.ret = io_submit(s->ctx, b.n, b.cbp);
		else
			pthread_join(t, NULL);
	} else {
		b.ret = io_submit(s->ctx, b.n, b.cbp);
	}
	ret = b.ret;
	count_exec(c, 1);
	cov(c, "aio:submitter:%s", in_thread ? "second-thread" : "main-thread");
	cov_err(c, "io_submit", ret > 0 ? 0 : ret);
	flog(c, "  io_submit of %d (%s) = %ld", b.n, in_thread ? "thread" : "main", ret);
	check(c);
	if (ret > b.n)
		fail(c, "io_submit of %d iocbs returned %ld", b.n, ret);
	pthread_mutex_lock(&s->lock);
	for (k = (ret > 0 ? ret : 0); k < b.n; k++)
		if (k != bad_ptr && s->req[kinds[k]].live) {
			s->req[kinds[k]].live = 0;
			s->nlive--;
		}
	pthread_mutex_unlock(&s->lock);
	if (chance(r, 10) && ret > 0) {
		struct io_event ev;
		int k = rnd(r, ret);
		long cr;

		/* (the kernel reads the iocb's key: a bad pointer is EFAULT) */
		pthread_mutex_lock(&s->lock);
		if (k != bad_ptr)
			s->req[kinds[k]].cancelled = 1;
		pthread_mutex_unlock(&s->lock);
		cr = io_cancel(s->ctx, b.cbp[k], &ev);
		count_exec(c, 1);
		cov_err(c, "io_cancel", cr);
		check(c);
		/* Documentation/aio.md, "Cancellation": taken, done, or not
		 * (or no longer) cancellable */
		if (k != bad_ptr && cr != -EINPROGRESS && cr != -EAGAIN && cr != -EINVAL)
			fail(c, "io_cancel of a submitted %s returned %ld", op_name(s->req[kinds[k]].op), cr);
		if (k != bad_ptr && cr != -EINPROGRESS) {
			pthread_mutex_lock(&s->lock);
			s->req[kinds[k]].cancelled = 0;
			pthread_mutex_unlock(&s->lock);
		}
	}
	collect(c, s, rnd(r, 3) ? 0 : 20);
	if (chance(r, 8)) {
		/* io_destroy with requests in flight: it waits for them */
		ret = io_destroy(s->ctx);
		count_exec(c, 1);
		cov_err(c, "io_destroy", ret);
		flog(c, "  io_destroy with %d in flight = %ld", s->nlive, ret);
		s->ok = 0;
		memset(s->req, 0, sizeof(s->req));
		s->nlive = 0;
	}
}

/* Written through aio, read back through aio and pread: the same bytes. */
void op_aio_verify(struct ctx *c, struct rng *r)
{
	struct aio_state *s = state(c);
	int n = 1 + rnd(r, 8), i, fd, fk = rnd(r, 2), in_thread = chance(r, 50);
	char *wbuf = NULL, *rbuf = NULL, *cmp = NULL;
	struct batch b = { .c = c };
	struct io_event ev[16];
	struct timespec ts = { O.hang_secs / 2, 0 };
	struct iocb cbs[8];
	long got;

	if (!s || ensure_ctx(c, r, s))
		return;
	/* a file of its own, so no other op writes there */
	fd = fk ? memfd_create("fz-aio", 0) : -1;
	if (fd < 0) {
		char path[512];

		snprintf(path, sizeof(path), "%s/fz-aio-%d", O.scratch, getpid());
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		unlink(path);
		fk = 0;
	}
	rbuf = malloc(8 * 4096);
	cmp = malloc(8 * 4096);
	wbuf = malloc(8 * 4096);
	if (fd < 0 || !rbuf || !cmp || !wbuf)
		goto out;
	for (i = 0; i < n * 4096; i++)
		cmp[i] = (char)(i * 7 + c->iter + c->op);
	memcpy(wbuf, cmp, n * 4096);
	for (i = 0; i < n; i++) {
		io_prep_pwrite(&cbs[i], fd, wbuf + i * 4096, 4096, (long long)i * 4096);
		b.cbp[i] = &cbs[i];
	}
	b.s = s;
	b.n = n;
	if (in_thread) {
		pthread_t t;

		if (pthread_create(&t, NULL, submit_thread, &b))
			b.ret = io_submit(s->ctx, n, b.cbp);
		else
			pthread_join(t, NULL);
	} else {
		b.ret = io_submit(s->ctx, n, b.cbp);
	}
	count_exec(c, 1);
	cov(c, "aio:verify:%s:%s", fk ? "memfd" : "tmpfs", in_thread ? "second-thread" : "main-thread");
	flog(c, "  aio verify: %d blocks, io_submit = %ld", n, b.ret);
	if (b.ret < 0) {
		if (b.ret != -EAGAIN && b.ret != -EFBIG)
			fail(c, "io_submit of %d plain writes = %ld", n, b.ret);
		goto out;
	}
	/* A partial submission (a write that slept) is allowed: submit the rest. */
	for (i = b.ret; i < n; i += got) {
		got = io_submit(s->ctx, n - i, b.cbp + i);
		if (got <= 0)
			break;
	}
	if (i < n) {
		cov(c, "aio:verify:resubmission-refused");
		n = i;	/* wait for what was taken, check only that */
	}
	got = 0;
	while (got < n) {
		long k = io_getevents(s->ctx, 1, 16, ev, &ts);

		if (k == -EINTR)
			continue;
		check(c);
		if (k <= 0) {
			fail(c, "aio verify: %ld of %d writes completed, then io_getevents = %ld", got, n, k);
			goto out;
		}
		for (i = 0; i < k; i++) {
			struct iocb *cb = ev[i].obj;

			if (cb < cbs || cb >= cbs + n) {
				/* an event of op_aio's requests: hand it over */
				struct req *q = (struct req *)cb;

				pthread_mutex_lock(&s->lock);
				if (q >= s->req && q < s->req + MAX_REQ && q->live) {
					q->live = 0;
					s->nlive--;
				}
				pthread_mutex_unlock(&s->lock);
				continue;
			}
			check(c);
			if ((long)ev[i].res != 4096)
				fail(c, "aio verify: write of block %ld = %ld", (long)(cb - cbs), (long)ev[i].res);
			got++;
		}
	}
	check(c);
	if (pread(fd, rbuf, n * 4096, 0) != n * 4096 || memcmp(rbuf, cmp, n * 4096))
		fail(c, "aio verify: %d blocks written through aio read back different", n);
out:
	if (fd >= 0)
		close(fd);
	free(rbuf);
	free(cmp);
	free(wbuf);
}

/* The end of an iteration: every request but POLL completes. */
void aio_teardown(struct ctx *c)
{
	struct aio_state *s = c->aio;
	double end;

	if (!s || !s->ok)
		return;
	end = now_ms() + O.hang_secs * 400.0;
	while (now_ms() < end) {
		int pending = 0;

		collect(c, s, 50);
		pthread_mutex_lock(&s->lock);
		for (int i = 0; i < MAX_REQ; i++)
			pending += s->req[i].live && s->req[i].op != IO_CMD_POLL &&
				   s->req[i].op <= IO_CMD_PWRITEV;
		pthread_mutex_unlock(&s->lock);
		if (!pending)
			break;
	}
	for (int i = 0; i < MAX_REQ; i++) {
		struct req *q = &s->req[i];

		if (q->live && q->op != IO_CMD_POLL && q->op <= IO_CMD_PWRITEV && q->op != 4) {
			check(c);
			fail(c, "aio %s request %d never completed", op_name(q->op), i);
			break;
		}
	}
	io_destroy(s->ctx);
	s->ok = 0;
}
