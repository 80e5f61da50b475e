// SPDX-License-Identifier: GPL-2.0
/*
 * The syslet engine: each directory is read by a slot that submits
 * chains one after the other, up to `qd` slots with a chain in flight.
 *
 *   open chain:  openat(dir) -> getdents64(fd, buf) -> close(fd)
 *                openat stops the chain on failure; getdents64 branches
 *                to close when it returns 0 or an error, and ends the
 *                chain otherwise (the directory stays open).
 *   stat chain:  statx(fd, name) x up to `batch` names of the buffer,
 *                and, once the buffer is used up, getdents64 into the
 *                other buffer -> close, with the same branch.
 *
 * On a cached tree every atom finishes without blocking, so each chain
 * runs inline in the caller: one async_exec() carries a whole buffer of
 * statx calls, where the direct engine enters the kernel once per entry.
 * A chain that blocks (a cold directory) goes asynchronous; the caller
 * starts another directory in a free slot, and reaps the chain from the
 * ring when no slot is free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslet.h>

#include "walk.h"

enum { PH_OPEN, PH_STAT };

struct slot {
	struct syslet_chain chain;
	char *dir;		/* NULL: the slot is free */
	int phase;
	long fd;
	char *buf[2];		/* getdents64 fills one while statx reads the other */
	int cur;
	long len, pos;		/* valid bytes of buf[cur], next entry */
	struct statx *stx;	/* one per statx atom */
	const char **names;
	unsigned int nstat;	/* statx atoms of the chain built last */
	int gd, cl;		/* its getdents64 and close atoms, or -1 */
};

struct engine {
	const struct walk_opts *o;
	struct dirq *q;
	struct walk_stats *st;
	struct syslet_ring ring;
	struct slot *slots;
	unsigned int inflight;
};

static int build_open(struct slot *s)
{
	struct syslet_chain *c = &s->chain;
	int op, gd, cl;

	syslet_chain_reset(c);
	s->cur = 0;
	op = syslet_chain_call(c, __NR_openat, AT_FDCWD, s->dir,
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	gd = syslet_chain_call(c, __NR_getdents64, 0, s->buf[0], WALK_BUF);
	cl = syslet_chain_call(c, __NR_close, 0);
	if (op < 0 || gd < 0 || cl < 0)
		return op < 0 ? op : gd < 0 ? gd : cl;
	s->nstat = 0;
	s->gd = gd;
	s->cl = cl;
	return syslet_atom_stop_on(c, op, SYSLET_STOP_ON_NEGATIVE) ?:
	       syslet_atom_arg_result(c, gd, 0, op) ?:
	       syslet_atom_branch(c, gd, SYSLET_STOP_ON_NON_POSITIVE, SYSLET_END) ?:
	       syslet_atom_arg_result(c, cl, 0, op);
}

static int build_stat(struct engine *e, struct slot *s)
{
	struct syslet_chain *c = &s->chain;
	const char *name;
	int r;

	syslet_chain_reset(c);
	s->nstat = 0;
	s->gd = s->cl = -1;
	while (s->nstat < e->o->batch &&
	       (name = walk_next_name(s->buf[s->cur], s->len, &s->pos))) {
		r = syslet_chain_call(c, __NR_statx, s->fd, name, WALK_STATX_FLAGS,
				      WALK_STATX_MASK, &s->stx[s->nstat]);
		if (r < 0)
			return r;
		s->names[s->nstat++] = name;
	}
	if (s->pos < s->len)
		return 0;	/* more names in this buffer: the next chain */
	s->gd = syslet_chain_call(c, __NR_getdents64, s->fd, s->buf[!s->cur], WALK_BUF);
	s->cl = syslet_chain_call(c, __NR_close, s->fd);
	if (s->gd < 0 || s->cl < 0)
		return s->gd < 0 ? s->gd : s->cl;
	return syslet_atom_branch(c, s->gd, SYSLET_STOP_ON_NON_POSITIVE, SYSLET_END);
}

static void slot_done(struct slot *s)
{
	free(s->dir);
	s->dir = NULL;
}

/* What the getdents64 (and maybe close) atoms of the last chain did. */
static void after_getdents(struct engine *e, struct slot *s)
{
	struct syslet_chain *c = &s->chain;
	long n = syslet_chain_result(c, s->gd), r;

	if (n > 0) {
		s->cur = s->phase == PH_OPEN ? 0 : !s->cur;
		s->len = n;
		s->pos = 0;
		s->phase = PH_STAT;
		return;
	}
	if (n < 0)
		walk_error(e->st, e->o, "getdents64", s->dir, NULL, (int)-n);
	r = syslet_chain_result(c, s->cl);
	if (r < 0)
		walk_error(e->st, e->o, "close", s->dir, NULL, (int)-r);
	slot_done(s);
}

/* Takes in the results of the slot's chain that has completed. */
static int collect(struct engine *e, struct slot *s)
{
	struct syslet_chain *c = &s->chain;
	unsigned int i;
	int err;

	if (s->phase == PH_OPEN) {
		s->fd = syslet_chain_result(c, 0);
		if (s->fd < 0) {
			walk_error(e->st, e->o, "open", s->dir, NULL, (int)-s->fd);
			slot_done(s);
			return 0;
		}
		after_getdents(e, s);
		return 0;
	}
	for (i = 0; i < s->nstat; i++) {
		long r = syslet_chain_result(c, (int)i);

		if (r < 0) {
			walk_error(e->st, e->o, "statx", s->dir, s->names[i], (int)-r);
			continue;
		}
		err = walk_account(e->st, e->q, s->dir, s->names[i], &s->stx[i]);
		if (err)
			return err;
	}
	if (s->gd >= 0)
		after_getdents(e, s);
	return 0;
}

/* Submits the slot's chains until it is done or one goes asynchronous. */
static int drive(struct engine *e, struct slot *s)
{
	int r;

	while (s->dir) {
		r = s->phase == PH_OPEN ? build_open(s) : build_stat(e, s);
		if (r < 0)
			return r;
		r = syslet_chain_submit(&s->chain, &e->ring);
		e->st->chains++;
		if (r == SYSLET_CHAIN_ASYNC) {
			e->st->chains_async++;
			e->inflight++;
			return 0;
		}
		if (r < 0)
			return r;
		r = collect(e, s);
		if (r)
			return r;
	}
	return 0;
}

/* A slot's chain and buffers, made when it is first used. */
static int slot_init(struct engine *e, struct slot *s)
{
	int err;

	if (s->chain.atoms)
		return 0;
	err = syslet_chain_init(&s->chain, e->o->batch + 2);
	if (err)
		return err;
	s->chain.data = s;
	s->buf[0] = aligned_alloc(8, WALK_BUF);
	s->buf[1] = aligned_alloc(8, WALK_BUF);
	s->stx = calloc(e->o->batch, sizeof(*s->stx));
	s->names = calloc(e->o->batch, sizeof(*s->names));
	return s->buf[0] && s->buf[1] && s->stx && s->names ? 0 : -ENOMEM;
}

static int run(struct engine *e)
{
	unsigned int i;
	int r;

	for (;;) {
		/* Free slots take the next directories, the lowest first and
		 * for as long as it stays free (its chains ran inline): a
		 * cached tree is walked by slot 0 alone. */
		for (i = 0; i < e->o->qd; i++) {
			struct slot *s = &e->slots[i];

			while (!s->dir && e->q->head != e->q->tail) {
				r = slot_init(e, s);
				if (r)
					return r;
				s->dir = dirq_pop(e->q);
				s->phase = PH_OPEN;
				r = drive(e, s);
				if (r)
					return r;
			}
		}
		if (!e->inflight) {
			if (e->q->head == e->q->tail)
				return 0;
			continue;
		}
		{
			struct syslet_chain *c;

			r = syslet_chain_reap(&e->ring, &c, NULL);
			if (r)
				return r;
			e->inflight--;
			r = collect(e, c->data);
			if (!r)
				r = drive(e, c->data);
			if (r)
				return r;
		}
	}
}

int walk_syslet(const struct walk_opts *o, struct dirq *q, struct walk_stats *st)
{
	struct engine e = { .o = o, .q = q, .st = st };
	unsigned int i;
	int err;

	e.slots = calloc(o->qd, sizeof(*e.slots));
	if (!e.slots)
		return -ENOMEM;
	err = syslet_ring_init(&e.ring, o->qd);
	if (!err)
		err = run(&e);
	/* On a fatal error chains may still be in flight: wait for them
	 * before their memory goes. */
	while (e.inflight) {
		struct syslet_chain *c;

		if (syslet_chain_reap(&e.ring, &c, NULL))
			break;
		e.inflight--;
	}
	for (i = 0; i < o->qd; i++) {
		struct slot *s = &e.slots[i];

		if (s->dir)
			free(s->dir);
		if (s->chain.atoms)
			syslet_chain_exit(&s->chain);
		free(s->buf[0]);
		free(s->buf[1]);
		free(s->stx);
		free(s->names);
	}
	if (e.ring.slots)
		syslet_ring_exit(&e.ring);
	free(e.slots);
	return err;
}
