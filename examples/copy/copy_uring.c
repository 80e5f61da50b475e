// SPDX-License-Identifier: GPL-2.0
/*
 * The io_uring engine: `qd` chunks in flight, each a read and then the
 * write of what it read. io_uring cannot feed a read's length into a
 * linked write, so the write is submitted when the read has completed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include "copy.h"

#ifdef EXAMPLES_NO_URING
/* Built without liburing (examples/Makefile found no liburing.pc). */
long long copy_uring(int src, int dst, const struct copy_opts *o, enum copy_op *op)
{
	(void)o;
	(void)src;
	(void)dst;
	(void)op;
	return -EOPNOTSUPP;
}
#else
#include <liburing.h>
#include <stdlib.h>

struct chunk {
	char *buf;
	long long pos, end;	/* next read, end of the chunk's range */
	size_t got, put;	/* read into buf, written from it */
	int writing;
	int busy;
};

struct engine {
	int src, dst;
	const struct copy_opts *o;
	struct io_uring ring;
	struct chunk *k;
	long long next, eof, err;
	enum copy_op *op;
};

static int queue(struct engine *e, struct chunk *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	if (!sqe)
		return -EBUSY;	/* cannot happen: one SQE per chunk */
	if (c->writing)
		io_uring_prep_write(sqe, e->dst, c->buf + c->put, c->got - c->put,
				    c->pos + c->put);
	else
		io_uring_prep_read(sqe, e->src, c->buf, c->end - c->pos, c->pos);
	io_uring_sqe_set_data(sqe, c);
	c->busy = 1;
	return 0;
}

static int requeue(struct engine *e, struct chunk *c)
{
	if (!queue(e, c))
		return 0;
	e->err = -EBUSY;
	*e->op = OP_NONE;
	return 1;
}

/* A completion of chunk c: 1 when c is free again, 0 when it queued its
 * next step. */
static int step(struct engine *e, struct chunk *c, int res)
{
	c->busy = 0;
	if (e->err)
		return 1;
	if (!c->writing) {
		if (res < 0) {
			e->err = res;
			*e->op = OP_READ;
			return 1;
		}
		if (res == 0) {
			if (e->eof < 0 || c->pos < e->eof)
				e->eof = c->pos;
			return 1;
		}
		c->got = res;
		c->put = 0;
		c->writing = 1;
		return requeue(e, c);
	}
	if (res <= 0) {
		e->err = res < 0 ? res : -EIO;
		*e->op = OP_WRITE;
		return 1;
	}
	c->put += res;
	if (c->put < c->got)
		return requeue(e, c);
	c->pos += c->got;
	c->writing = 0;
	if (c->pos >= c->end)
		return 1;
	return requeue(e, c);
}

static int run(struct engine *e)
{
	unsigned int i, busy = 0;
	struct io_uring_cqe *cqe;
	int r;

	for (;;) {
		for (i = 0; i < e->o->qd && !e->err; i++) {
			struct chunk *c = &e->k[i];

			if (c->busy || (e->eof >= 0 && e->next >= e->eof))
				continue;
			c->pos = e->next;
			c->end = e->next + (long long)e->o->chunk;
			e->next = c->end;
			c->writing = 0;
			if (queue(e, c))
				return -EBUSY;
			busy++;
		}
		if (!busy)
			return 0;
		r = io_uring_submit_and_wait(&e->ring, 1);
		if (r < 0 && r != -EINTR)
			return r;
		while (io_uring_peek_cqe(&e->ring, &cqe) == 0) {
			struct chunk *c = io_uring_cqe_get_data(cqe);

			if (step(e, c, cqe->res))
				busy--;
			io_uring_cqe_seen(&e->ring, cqe);
		}
	}
}

long long copy_uring(int src, int dst, const struct copy_opts *o, enum copy_op *op)
{
	struct engine e = { .src = src, .dst = dst, .o = o, .eof = -1, .op = op };
	unsigned int i;
	int err;

	e.k = calloc(o->qd, sizeof(*e.k));
	if (!e.k)
		return -ENOMEM;
	for (i = 0; i < o->qd; i++)
		if (!(e.k[i].buf = malloc(o->chunk)))
			break;
	err = i < o->qd ? -ENOMEM : io_uring_queue_init(o->qd, &e.ring, 0);
	if (!err) {
		err = run(&e);
		io_uring_queue_exit(&e.ring);
	}
	for (i = 0; i < o->qd; i++)
		free(e.k[i].buf);
	free(e.k);
	if (err)
		return err;
	return e.err ? e.err : e.eof;
}
#endif /* EXAMPLES_NO_URING */
