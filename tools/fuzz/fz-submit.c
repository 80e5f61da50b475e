// SPDX-License-Identifier: GPL-2.0
/*
 * async_exec() of a chain: the head (valid, read-only, bad, or one of a
 * dozen ring geometries), the first atom pointer, and the judgement of what
 * came back; and the chain ops (op_chain, op_chain_loop, op_chain_mutate,
 * op_chain_thread).
 */
#include "fz-chain.h"

/* Documentation/syslets.md, "Errors of async_exec() itself". */
static int documented_errno(long e)
{
	return e == EFAULT || e == EINVAL || e == EOPNOTSUPP || e == EAGAIN;
}

/*
 * A temporary head with a fuzzed geometry. *err: the errno async_exec()
 * must give because of the head alone, 0 for none, -1 when the oracle does
 * not know.
 */
/*
 * Whether a chain in flight (or one the table had no room for) may still
 * post through temporary head t. The kernel reads a head when it posts, so
 * a head set up again for another chain would take that completion where
 * the new geometry points: into the new chain's own atoms (case 8).
 */
static int temp_head_busy(struct ctx *c, int t)
{
	int busy = c->untracked_chains;

	pthread_mutex_lock(&c->chain_lock);
	for (int i = 0; i < c->ninflight && !busy; i++)
		busy = c->inflight[i]->ahu == &c->temp_heads[t];
	pthread_mutex_unlock(&c->chain_lock);
	return busy;
}

static struct async_head_user *geometry_head(struct ctx *c, struct rng *r, struct chainrec *ch,
					     int g, int *err)
{
	int t = rnd(r, FZ_TEMP_HEADS), k;
	struct async_head_user *h;
	struct syslet_uatom **ring;
	static const char *const names[] = {
		"size-0", "size-not-multiple-of-8", "ring-null", "ring-kernel", "ring-wraps",
		"ring-prot-none", "size-huge", "ring-unaligned", "ring-in-own-atoms",
		"ring-read-only", "ring-straddles", "index-near-wrap",
	};

	for (k = 0; k < FZ_TEMP_HEADS && temp_head_busy(c, (t + k) % FZ_TEMP_HEADS); k++)
		;
	if (k == FZ_TEMP_HEADS) {
		/* Every one may still be posted to: what lands in this
		 * chain's memory is then nobody's fault. */
		ch->strict = 0;
		cov(c, "ring:temp-heads-all-in-flight");
	}
	t = (t + k) % FZ_TEMP_HEADS;
	h = &c->temp_heads[t];
	ring = c->temp_rings + t * 64;
	memset(h, 0, sizeof(*h));
	h->completion_ring = ring;
	h->ring_size_bytes = 64 * sizeof(void *);
	*err = 0;
	switch (g) {
	case 0:
		h->ring_size_bytes = 0;
		*err = EINVAL;
		break;
	case 1:
		h->ring_size_bytes = (unsigned long[]){ 1, 4, 7, 12, 20, 65, 0xfffffffffffffff9UL }[rnd(r, 7)];
		*err = EINVAL;
		break;
	case 2:
		h->completion_ring = NULL;
		*err = EFAULT;
		break;
	case 3:
		h->completion_ring = ptr_kind(c, r, rnd(r, 2) ? PK_KERNEL : PK_KERNEL_TEXT, 8);
		*err = EFAULT;
		break;
	case 4:
		h->completion_ring = (void *)(-16UL - 8 * rnd(r, 4));
		*err = EFAULT;
		break;
	case 5:
		h->completion_ring = (void *)c->protnone;
		*err = EFAULT;
		break;
	case 6:	/* EFAULT only when ring + size wraps (syslet/abi.rs) */
		h->ring_size_bytes = rnd(r, 2) ? 1UL << 40 : 0xfffffffffffffff8UL;
		*err = h->ring_size_bytes == 1UL << 40 ? 0 : EFAULT;
		break;
	case 7:
		h->completion_ring = (void *)((char *)ring + 4);
		h->kernel_ring_idx = h->user_ring_idx = rnd(r, 63);
		break;
	case 8:
		h->completion_ring = (void *)ch->a;
		h->ring_size_bytes = ch->n * sizeof(*ch->a);
		h->kernel_ring_idx = h->user_ring_idx = rnd(r, ch->n * sizeof(*ch->a) / 8);
		break;
	case 9:
		h->completion_ring = (void *)c->ro;
		h->ring_size_bytes = 8 * sizeof(void *);
		break;
	case 10:
		/* The slot to fill is the one that crosses the page end. */
		h->completion_ring = (void *)(c->straddle_end - 4 - 8 * 7);
		h->ring_size_bytes = 8 * sizeof(void *);
		h->kernel_ring_idx = 7;
		*err = EFAULT;
		break;
	default:
		h->kernel_ring_idx = h->user_ring_idx = -1UL - rnd(r, 4);
		h->ring_size_bytes = (1 + rnd(r, 64)) * sizeof(void *);
		break;
	}
	cov(c, "ring:geometry:%s", names[g]);
	return h;
}

static int in_chain(struct chainrec *ch, long v)
{
	uintptr_t off = (uintptr_t)v - (uintptr_t)ch->a;

	return (uintptr_t)v >= (uintptr_t)ch->a && off % sizeof(struct syslet_uatom) == 0 &&
	       off / sizeof(struct syslet_uatom) <= (uintptr_t)ch->n;
}

/*
 * Whether v is where a chain that left its atoms through its stray next
 * pointer may have stopped: the stray atom itself (when the bytes there
 * make a valid atom, whatever another op wrote into that page), or an
 * atom reached from it through next or atom + 1, as memory holds them now.
 */
static int from_stray(struct ctx *c, struct chainrec *ch, long v)
{
	const struct syslet_uatom *a = ch->stray;

	for (int steps = 0; a && steps < 16 && !in_chain(ch, (long)a); steps++) {
		if (v == (long)a || v == (long)(a + 1))
			return 1;
		if (!addr_readable(c, a, ATOM_READ))
			return 0;
		a = a->next;
	}
	return 0;
}

/*
 * Submits ch (geometry >= 0: on a temporary head of that geometry) and
 * judges the answer. Keeps ch in flight if it went asynchronous, frees it
 * otherwise. Returns what async_exec() returned.
 */
long submit(struct ctx *c, struct rng *r, struct chainrec *ch, int geometry)
{
	struct async_head_user *ahu;
	struct head *h = NULL;
	int head_err = 0, first_err = 0, hk = rnd(r, 100), i, e;
	struct syslet_uatom *end;
	int nfail0 = c->slot->nfail;
	long ret;

	if (geometry >= 0) {
		ahu = geometry_head(c, r, ch, geometry, &head_err);
	} else if (!ch->strict) {
		ahu = geometry_head(c, r, ch, 7 + rnd(r, 5), &head_err);
	} else if (hk < 80) {
		h = &c->heads[rnd(r, FZ_HEADS)];
		ahu = h->ahu;
		cov(c, "ptr:head:valid");
	} else if (hk < 84) {
		ahu = c->ro_head;
		cov(c, "ptr:head:read-only");
	} else if (hk < 93) {
		ahu = geometry_head(c, r, ch, rnd(r, 12), &head_err);
	} else {
		int kind = pick_bad_kind(r);

		ahu = ptr_kind(c, r, kind, sizeof(*ahu));
		/* the kernel reads the first four words: a head whose first
		 * 32 bytes are mapped reads as the 0xa5 pattern */
		head_err = kind == PK_RO ? -1 : kind == PK_STRADDLE &&
			   c->straddle_end - (char *)ahu >= 32 ? EINVAL : EFAULT;
		cov(c, "ptr:head:%s", ptr_kind_name[kind]);
	}
	ch->ahu = ahu;

	/* The first atom. */
	ch->first = &ch->a[0];
	ch->first_kind = PK_VALID;
	if (ch->strict && chance(r, 6)) {
		int k = rnd(r, 3);

		if (k == 0) {
			ch->first_kind = pick_bad_kind(r);
			ch->first = ptr_kind(c, r, ch->first_kind, sizeof(struct syslet_uatom));
			first_err = ch->first_kind == PK_RO ? -1 : EFAULT;
			if (ch->first_kind == PK_STRADDLE &&
			    c->straddle_end - (char *)ch->first >= ATOM_READ)
				first_err = EINVAL;	/* readable: the 0xa5 pattern's flags */
		} else if (k == 1) {
			ch->first = c->ro_atom;
			ch->first_kind = PK_RO;
		} else {
			ch->first = &ch->a[rnd(r, ch->n)];	/* somewhere in the middle */
		}
	}
	cov(c, "ptr:first-atom:%s", ch->first == c->ro_atom ? "read-only-atom" :
	    ptr_kind_name[ch->first_kind]);

	/* What the oracle needs from before the call. */
	ch->pid = rsys0(__NR_getpid);
	ch->ppid = rsys0(__NR_getppid);
	ch->uid = rsys0(__NR_getuid);
	ch->seccomp = c->seccomp_main;
	memcpy(ch->deny, c->deny_errno, sizeof(ch->deny));
	ch->atoms_wgen = c->atoms_wgen;
	ch->ident_gen = c->ident_gen;
	for (i = 0; i <= ch->n; i++)
		if (ch->spec[i].model == MK_CTR)
			ch->ctr0[i] = *ch->spec[i].ctr;
	if (h && !h->dirty && !h->corrupt)
		ch->h = h;
	ch->t_submit = now_ms();
	count_exec(c, 3);

	hang_ok(c, !ch->strict);
	ret = rsys2(__NR_async_exec, ch->first, ahu);
	hang_ok(c, 0);
	count_exec(c, 1);
	ch->ret = ret;
	cov_err(c, "async_exec", ret);
	cov(c, "chain:length:%s", ch->n == 1 ? "1" : ch->n <= 4 ? "2-4" : ch->n <= 10 ? "5-10" : "11-40");
	if (ret != 0 && ret > -4096 && ret < 0) {
		e = -ret;
		check(c);
		if (ch->seccomp && c->deny_errno[__NR_async_exec]) {
			if (e != c->deny_errno[__NR_async_exec])
				fail(c, "seccomp denies async_exec with %d; it returned %ld",
				     c->deny_errno[__NR_async_exec], ret);
			goto done;
		}
		if (e == EINTR) {
			/* a signal was pending between two atoms run in the
			 * caller: the atoms before ran, the rest did not */
			cov(c, "chain:returned:EINTR-signal-between-atoms");
			goto done;
		}
		if (!documented_errno(e)) {
			fail(c, "async_exec returned -%s, not a documented error", errname(e));
			goto done;
		}
	}
	if (ch->seccomp && c->deny_errno[__NR_async_exec]) {
		check(c);
		fail(c, "seccomp denies async_exec with %d; it returned %ld",
		     c->deny_errno[__NR_async_exec], ret);
		goto done;
	}

	if (ret == 0) {
		cov(c, "chain:went-async");
		c->bg_chains = 1;
		check(c);
		if (ch->seccomp)
			fail(c, "a chain went asynchronous under seccomp (it must run inline)");
		else if (head_err > 0)
			fail(c, "a chain went asynchronous with a head that gives -%s", errname(head_err));
		else if (first_err > 0)
			fail(c, "a chain went asynchronous from an unreadable first atom");
		inflight_add(c, ch);
		return ret;
	}

	/* Errors found before any atom runs. */
	/* syslet/abi.rs read_submission(): the head, its geometry, the ring
	 * slot and the first atom, then the atom's flags. */
	if (first_err > 0 || (head_err > 0 && first_err == 0 &&
			      !(ch->first->flags & ~0xffUL) &&
			      (ch->first->flags & (SYSLET_ASYNC | SYSLET_SYNC)) !=
			      (SYSLET_ASYNC | SYSLET_SYNC))) {
		int want = first_err > 0 ? first_err : head_err;

		check(c);
		cov(c, "chain:refused-before-start:%s", errname(want));
		/* With both a bad head and a bad first atom either error may come. */
		if (ret != -want && !(first_err > 0 && head_err)) {
			fail(c, "async_exec returned %ld, the %s makes it -%s", ret,
			     first_err > 0 ? "first atom" : "head", errname(want));
		} else if (ch->strict) {
			for (i = 0; i < ch->n; i++)
				if (ch->spec[i].ret_kind == PK_VALID && !ch->spec[i].ret_shared &&
				    !ch->spec[i].self_mod && *ch->a[i].ret_ptr != POISON) {
					fail(c, "async_exec failed before the chain started, but atom %d stored %ld",
					     i, *ch->a[i].ret_ptr);
					break;
				}
		}
		goto done;
	}
	if (head_err < 0 || first_err < 0 || !ch->strict) {
		/* Plausibility only. */
		check(c);
		if (ret > 0 && !in_chain(ch, ret) && ret != (long)c->ro_atom && ch->strict &&
		    !ch->mutated && first_err == 0 && !from_stray(c, ch, ret))
			fail(c, "async_exec returned %#lx, not an atom of the chain", ret);
		goto done;
	}
	switch (sim_chain(c, ch, &end, &e, 0)) {
	case SIM_END:
		check(c);
		cov(c, "chain:returned:end-atom");
		if (ret != (long)end)
			fail(c, "async_exec returned %#lx; the chain should have stopped at atom %ld (%p)",
			     ret, in_chain(ch, (long)end) ? (long)(end - ch->a) : -1L, (void *)end);
		break;
	case SIM_ERR:
		check(c);
		cov(c, "chain:returned:error:%s", errname(e));
		if (ret != -e && !(head_err > 0 && ret == -head_err))
			fail(c, "async_exec returned %ld; the chain should have failed with -%s at atom %ld",
			     ret, errname(e), end && in_chain(ch, (long)end) ? (long)(end - ch->a) : -1L);
		break;
	case SIM_ASYNC:
		check(c);
		cov(c, "chain:returned:async-atom-inline");
		if (ret != -EAGAIN)
			fail(c, "async_exec returned %ld though the chain reached a SYSLET_ASYNC atom "
			     "(%ld): it must go asynchronous or fail with -EAGAIN", ret,
			     end && in_chain(ch, (long)end) ? (long)(end - ch->a) : -1L);
		break;
	default:
		cov(c, "chain:oracle-unknown");
		if (ret > 0 && !in_chain(ch, ret) && ret != (long)c->ro_atom && !ch->self_mod &&
		    !from_stray(c, ch, ret))
			fail(c, "async_exec returned %#lx, not an atom of the chain", ret);
		break;
	}
done:
	if (c->slot->nfail != nfail0)
		dump_chain(c, ch);
	free(ch);
	return ret;
}

void op_chain(struct ctx *c, struct rng *r)
{
	struct chainrec *ch = build_chain(c, r, 0);

	if (!ch)
		return;
	flog(c, "  chain: %d atoms, first flags %#lx nr %s%s", ch->n, ch->a[0].flags,
	     nr_name(ch->a[0].nr), ch->loop ? ", loop" : "");
	if (O.verbose)
		dump_chain(c, ch);
	submit(c, r, ch, -1);
}

void op_chain_loop(struct ctx *c, struct rng *r)
{
	struct chainrec *ch = build_chain(c, r, 1);

	if (!ch)
		return;
	flog(c, "  loop chain: %d atoms", ch->n);
	if (O.verbose)
		dump_chain(c, ch);
	submit(c, r, ch, -1);
}

/* ---- a chain modified by another thread while it runs -------------------------------- */

struct mutator {
	struct ctx *c;
	struct chainrec *ch;
	struct rng r;
	volatile int stop;
	int writes;
};

static void *mutate_thread(void *arg)
{
	struct mutator *m = arg;
	struct chainrec *ch = m->ch;
	struct ctx *c = m->c;

	while (!m->stop && m->writes < 20000) {
		struct syslet_uatom *a = &ch->a[rnd(&m->r, ch->n)];

		switch (rnd(&m->r, 7)) {
		case 0:	/* flags: any of the known bits, or an unknown one */
			a->flags = rnd(&m->r, 256) | (chance(&m->r, 10) ? 1UL << (8 + rnd(&m->r, 56)) : 0);
			break;
		case 1:	/* the number: harmless ones only */
			a->nr = (unsigned long[]){ __NR_getpid, __NR_getppid, __NR_sched_yield,
						   __NR_umem_add, 1024, 0x40000000 | 39,
						   __NR_fork, __NR_exit }[rnd(&m->r, 8)];
			break;
		case 2: /* next: NULL, the next atom, a bad pointer (never backwards) */
			a->next = chance(&m->r, 40) ? NULL : chance(&m->r, 50) && a + 1 < ch->a + ch->n ?
				  a + 1 : ptr_kind(c, &m->r, pick_bad_kind(&m->r), sizeof(*a));
			break;
		case 3:
			a->ret_ptr = chance(&m->r, 50) ? NULL :
				     ptr_kind(c, &m->r, pick_bad_kind(&m->r), 8);
			break;
		case 4:	/* (not close()'s: a readable constant or a list cut
			 * at NULL would give it 0, 1, 2... fz-chain.c) */
			if (a->nr == __NR_close)
				break;
			a->arg_ptr[rnd(&m->r, 6)] = chance(&m->r, 50) ? NULL :
				ptr_kind(c, &m->r, pick_bad_kind(&m->r), 8);
			break;
		default:
			if (rnd(&m->r, 2))
				sched_yield();
			break;
		}
		m->writes++;
	}
	return NULL;
}

void op_chain_mutate(struct ctx *c, struct rng *r)
{
	struct chainrec *ch = build_chain(c, r, 2);
	struct mutator *m;
	pthread_t t;
	int rounds = 1 + rnd(r, 3), i;

	if (!ch)
		return;
	m = calloc(1, sizeof(*m));
	if (!m) {
		free(ch);
		return;
	}
	*m = (struct mutator){ .c = c, .ch = ch, .r = { rnd64(r) } };
	ch->mutated = 1;
	ch->strict = 0;
	flog(c, "  mutated chain: %d atoms, %d rounds", ch->n, rounds);
	cov(c, "chain:mutated-while-running");
	if (pthread_create(&t, NULL, mutate_thread, m)) {
		free(ch);
		free(m);
		return;
	}
	/* The same atoms submitted again and again: each submission is its
	 * own record (it may go asynchronous), only the last one frees. */
	for (i = 0; i < rounds; i++) {
		struct chainrec *copy = malloc(sizeof(*copy));

		if (!copy)
			break;
		*copy = *ch;
		submit(c, r, copy, -1);
	}
	m->stop = 1;
	pthread_join(t, NULL);
	cov(c, "chain:mutator-writes:%s", m->writes < 10 ? "<10" : m->writes < 1000 ? "<1000" : ">=1000");
	free(m);
	free(ch);
}

/* ---- a chain from another thread ------------------------------------------------- */

struct thr_arg {
	struct ctx *c;
	struct rng r;
	volatile int done;
};

static void *chain_thread(void *arg)
{
	struct thr_arg *t = arg;
	int n = 1 + rnd(&t->r, 4);

	for (int i = 0; i < n; i++) {
		struct chainrec *ch = build_chain(t->c, &t->r, rnd(&t->r, 4) == 0);

		if (!ch)
			break;
		ch->in_thread = 1;
		flog(t->c, "  thread %ld: chain: %d atoms, first flags %#lx nr %s%s", rsys0(__NR_gettid),
		     ch->n, ch->a[0].flags, nr_name(ch->a[0].nr), ch->loop ? ", loop" : "");
		if (O.verbose)
			dump_chain(t->c, ch);
		submit(t->c, &t->r, ch, -1);
	}
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

void op_chain_thread(struct ctx *c, struct rng *r)
{
	struct thr_arg *t = calloc(1, sizeof(*t));
	struct timespec ts;
	pthread_t th;

	if (!t)
		return;
	t->c = c;
	t->r.s = rnd64(r);
	flog(c, "  chains from a second thread");
	cov(c, "chain:from-second-thread");
	if (pthread_create(&th, NULL, chain_thread, t)) {
		free(t);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += O.hang_secs;
	if (pthread_timedjoin_np(th, NULL, &ts)) {
		fail(c, "a thread submitting chains did not finish in %d s", O.hang_secs);
		return;	/* t stays: the thread may still use it */
	}
	free(t);
}
