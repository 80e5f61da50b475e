// SPDX-License-Identifier: GPL-2.0
/*
 * The syslet engine: the file is cut into ranges of `pairs` chunks; each
 * range is one chain of pread -> pwrite pairs, the pwrite taking the
 * pread's result as its length (syslet_atom_arg_result()):
 *
 *   pread(src, buf0, chunk, off)       stop on <= 0 (end of file, error)
 *   pwrite(dst, buf0, <read>, off)     stop on < 0
 *   pread(src, buf1, chunk, off + chunk) ...
 *
 * Up to `qd` chains are in flight; on a cached file each runs inline in
 * one async_exec(). After a chain, its pairs are checked in order: an
 * error ends the copy, a read of 0 is the end of the file, and a short
 * read or write has the range submitted again from where the data
 * stopped (pairs after it are repeated: positioned I/O makes that safe).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <syslet.h>

#include "copy.h"

struct range {
	struct syslet_chain chain;
	char *buf;
	long long off, end;	/* what the chain copies; off == end: idle */
	unsigned long long offs[COPY_MAX_PAIRS];
};

struct engine {
	int src, dst;
	const struct copy_opts *o;
	struct syslet_ring ring;
	struct range *r;
	unsigned int inflight;
	long long next;		/* the first offset no range was given */
	long long eof;		/* where a read returned 0, or -1 */
	long long err;
	enum copy_op *op;
};

static int build(struct engine *e, struct range *g)
{
	struct syslet_chain *c = &g->chain;
	long long off = g->off;
	unsigned int i;

	syslet_chain_reset(c);
	for (i = 0; off < g->end; i++, off += (long long)e->o->chunk) {
		size_t len = g->end - off < (long long)e->o->chunk ? (size_t)(g->end - off)
								   : e->o->chunk;
		char *buf = g->buf + (off - g->off);
		int rd, wr, err;

		g->offs[i] = off;
		rd = syslet_chain_call(c, __NR_pread64, e->src, buf, len, off);
		wr = syslet_chain_call(c, __NR_pwrite64, e->dst, buf, 0, off);
		if (rd < 0 || wr < 0)
			return rd < 0 ? rd : wr;
		err = syslet_atom_stop_on(c, rd, SYSLET_STOP_ON_NON_POSITIVE) ?:
		      syslet_atom_arg_result(c, wr, 2, rd) ?:
		      syslet_atom_stop_on(c, wr, SYSLET_STOP_ON_NEGATIVE);
		if (err)
			return err;
	}
	return 0;
}

static void fail(struct engine *e, enum copy_op op, long long err)
{
	if (!e->err) {
		e->err = err;
		*e->op = op;
	}
}

/* Reads the pairs of a finished chain; the range ends or moves on. */
static void collect(struct engine *e, struct range *g)
{
	struct syslet_chain *c = &g->chain;
	unsigned int i, n = c->count / 2;

	for (i = 0; i < n; i++) {
		long long want = (i + 1 < n ? (long long)g->offs[i + 1] : g->end) - g->offs[i];
		long rd = syslet_chain_result(c, 2 * i), wr = syslet_chain_result(c, 2 * i + 1);

		if (rd < 0) {
			fail(e, OP_READ, rd);
			break;
		}
		if (rd == 0) {
			if (e->eof < 0 || (long long)g->offs[i] < e->eof)
				e->eof = g->offs[i];
			break;
		}
		if (wr < 0 || wr == 0) {
			fail(e, OP_WRITE, wr < 0 ? wr : -EIO);
			break;
		}
		if (rd < want || wr < rd) {
			/* Again from where the data stopped. */
			g->off = g->offs[i] + wr;
			return;
		}
	}
	g->off = g->end;
}

/* Submits the range's chains until it is done or one goes asynchronous. */
static int drive(struct engine *e, struct range *g)
{
	int r;

	while (g->off < g->end && !e->err) {
		if (e->eof >= 0 && g->off >= e->eof) {
			g->off = g->end;
			break;
		}
		r = build(e, g);
		if (r < 0)
			return r;
		r = syslet_chain_submit(&g->chain, &e->ring);
		if (e->o->stats)
			e->o->stats->chains++;
		if (r == SYSLET_CHAIN_ASYNC) {
			if (e->o->stats)
				e->o->stats->chains_async++;
			e->inflight++;
			return 0;
		}
		if (r < 0)
			return r;
		collect(e, g);
	}
	return 0;
}

/* A range's chain and buffer, made when it is first used. */
static int range_init(struct engine *e, struct range *g)
{
	int err;

	if (g->chain.atoms)
		return 0;
	err = syslet_chain_init(&g->chain, 2 * e->o->pairs);
	if (err)
		return err;
	g->chain.data = g;
	g->buf = malloc(e->o->chunk * e->o->pairs);
	return g->buf ? 0 : -ENOMEM;
}

static int run(struct engine *e)
{
	long long span = (long long)e->o->chunk * e->o->pairs;
	unsigned int i;
	int r;

	for (;;) {
		/* Idle ranges take the next spans, the lowest first and for as
		 * long as it stays idle (its chains ran inline): a cached file
		 * is copied through range 0 alone. */
		for (i = 0; i < e->o->qd; i++) {
			struct range *g = &e->r[i];

			while (g->off == g->end && !e->err && (e->eof < 0 || e->next < e->eof)) {
				r = range_init(e, g);
				if (r)
					return r;
				g->off = e->next;
				g->end = e->next + span;
				e->next = g->end;
				r = drive(e, g);
				if (r)
					return r;
			}
		}
		if (!e->inflight) {
			if (e->err || (e->eof >= 0 && e->next >= e->eof))
				return 0;
			continue;
		}
		{
			struct syslet_chain *c;

			r = syslet_chain_reap(&e->ring, &c, NULL);
			if (r)
				return r;
			e->inflight--;
			collect(e, c->data);
			r = drive(e, c->data);
			if (r)
				return r;
		}
	}
}

long long copy_syslet(int src, int dst, const struct copy_opts *o, enum copy_op *op)
{
	struct engine e = { .src = src, .dst = dst, .o = o, .eof = -1, .op = op };
	unsigned int i;
	int err;

	e.r = calloc(o->qd, sizeof(*e.r));
	if (!e.r)
		return -ENOMEM;
	err = syslet_ring_init(&e.ring, o->qd);
	if (!err)
		err = run(&e);
	while (e.inflight) {	/* after a failure: let the chains end first */
		struct syslet_chain *c;

		if (syslet_chain_reap(&e.ring, &c, NULL))
			break;
		e.inflight--;
	}
	for (i = 0; i < o->qd; i++) {
		if (e.r[i].chain.atoms)
			syslet_chain_exit(&e.r[i].chain);
		free(e.r[i].buf);
	}
	if (e.ring.slots)
		syslet_ring_exit(&e.ring);
	free(e.r);
	if (err)
		return err;
	return e.err ? e.err : e.eof;
}
