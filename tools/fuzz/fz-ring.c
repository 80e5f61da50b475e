// SPDX-License-Identifier: GPL-2.0
/*
 * Completions: chains in flight, the rings they complete into, async_wait(),
 * ring geometry changes between chains, and umem_add() called directly.
 *
 * Invariants: a chain that went asynchronous on a clean head completes
 * exactly once, with the atom the oracle says it stopped at, and never if
 * it ended at a SYSLET_NO_COMPLETE atom; every completion belongs to a
 * chain in flight; kernel_ring_idx only moves forward and never runs more
 * than a ring ahead of user_ring_idx, which the kernel never writes.
 */
#include "fz-chain.h"

void inflight_add(struct ctx *c, struct chainrec *ch)
{
	pthread_mutex_lock(&c->chain_lock);
	if (c->ninflight < FZ_MAX_INFLIGHT)
		c->inflight[c->ninflight++] = ch;
	else {
		ch->h = NULL;	/* untracked; leaks until exit */
		c->untracked_chains = 1;
	}
	pthread_mutex_unlock(&c->chain_lock);
}

/* Whether chain ch must complete exactly once into its head's ring. */
static int expects_completion(struct chainrec *ch)
{
	/* (a chain that rewrites its own atoms may set NO_COMPLETE) */
	return ch->h && !ch->h->dirty && !ch->h->corrupt && ch->strict && !ch->mutated &&
	       !ch->nocomplete_any && !ch->self_mod && ch->first_kind == PK_VALID;
}

static void drop(struct ctx *c, int i)
{
	free(c->inflight[i]);
	c->inflight[i] = c->inflight[--c->ninflight];
}

/* Whether some atom of ch has `a` as its next now (a result stored into a
 * next field makes any value one). */
static int next_of(struct chainrec *ch, const struct syslet_uatom *a)
{
	for (int k = 0; k <= ch->n; k++)
		if (ch->a[k].next == a)
			return 1;
	return 0;
}

/* A completion `a` found in head h's ring. Called with chain_lock held. */
static void completion(struct ctx *c, struct head *h, struct syslet_uatom *a)
{
	struct syslet_uatom *end;
	int i, e, res, nfail0 = c->slot->nfail;

	check(c);
	for (i = 0; i < c->ninflight; i++) {
		struct chainrec *ch = c->inflight[i];
		uintptr_t off = (uintptr_t)a - (uintptr_t)ch->a;

		if (ch->ahu != h->ahu)
			continue;
		/* its atoms, where it started, or where a stray next led
		 * (a chain that faults there posts the address it could not
		 * read: syslet/engine.rs) */
		if (a != ch->first && (!ch->stray || a != ch->stray) && !next_of(ch, a) &&
		    ((uintptr_t)a < (uintptr_t)ch->a || off % sizeof(*a) || off / sizeof(*a) > (uintptr_t)ch->n))
			continue;
		ch->completions++;
		cov(c, "ring:completion");
		if (!expects_completion(ch)) {
			drop(c, i);
			return;
		}
		res = sim_chain(c, ch, &end, &e, 1);
		if (ch->ident_gen != c->ident_gen) {
			/* -ECANCELED may have ended it where a slot cannot say */
			cov(c, "ring:completion-after-identity-change");
		} else if (res == SIM_END && end != a)
			fail(c, "chain posted atom %ld (%p); it should have stopped at atom %ld",
			     (long)(a - ch->a), (void *)a, (long)(end - ch->a));
		else if (res == SIM_ERR && end && a != end && a != end + 1 &&
			 !(end->next && a == end->next))
			/* a detached chain that faults posts the faulting atom */
			fail(c, "chain failed with -%s at atom %ld but posted atom %ld",
			     errname(e), (long)(end - ch->a), (long)(a - ch->a));
		else if (res == SIM_END && (end->flags & SYSLET_NO_COMPLETE))
			fail(c, "chain ended at a SYSLET_NO_COMPLETE atom and was posted anyway");
		if (c->slot->nfail != nfail0)
			dump_chain(c, ch);
		drop(c, i);
		return;
	}
	if (!h->dirty && !h->corrupt)
		fail(c, "head %ld: completion %p matches no chain in flight (a second completion?)",
		     (long)(h - c->heads), (void *)a);
}

static void reap_head(struct ctx *c, struct head *h)
{
	unsigned long k, u;

	if (h->ahu->user_ring_idx != h->user && !h->dirty) {
		check(c);
		fail(c, "head %ld: user_ring_idx changed behind our back (%lu -> %lu): the kernel must never write it",
		     (long)(h - c->heads), h->user, h->ahu->user_ring_idx);
		h->dirty = 1;
	}
	for (;;) {
		struct syslet_uatom **slotp;
		struct syslet_uatom *a;

		u = h->ahu->user_ring_idx;
		slotp = &h->ring[u % h->slots];
		a = __atomic_load_n(slotp, __ATOMIC_ACQUIRE);
		if (!a)
			break;
		*slotp = NULL;
		h->ahu->user_ring_idx = h->user = u + 1;
		completion(c, h, a);
	}
	k = __atomic_load_n(&h->ahu->kernel_ring_idx, __ATOMIC_ACQUIRE);
	u = h->ahu->user_ring_idx;
	/* The kernel stores the slot, then advances kernel_ring_idx
	 * (Documentation/syslets.md, "The ring"): a completion taken in
	 * between leaves user_ring_idx ahead of it for a moment. */
	for (double end = now_ms() + 200; (long)(u - k) > 0 && now_ms() < end;) {
		sleep_ms(1);
		k = __atomic_load_n(&h->ahu->kernel_ring_idx, __ATOMIC_ACQUIRE);
	}
	if (!h->dirty && !h->corrupt) {
		check(c);
		if ((long)(k - h->last_k) < 0)
			fail(c, "head %ld: kernel_ring_idx went backwards (%lu -> %lu)",
			     (long)(h - c->heads), h->last_k, k);
		else if (k - u > h->slots)
			fail(c, "head %ld: kernel_ring_idx %lu is more than a ring (%lu slots) ahead of user_ring_idx %lu",
			     (long)(h - c->heads), k, h->slots, u);
	}
	h->last_k = k;
}

/*
 * Consumes every ring. wait_ms > 0: until every chain that must complete
 * has (or the time is up). final: then every such chain that did not is a
 * lost completion. Returns the number still missing.
 */
int reap_all(struct ctx *c, int wait_ms, int final)
{
	double until = now_ms() + wait_ms;
	int missing, i;

	for (;;) {
		pthread_mutex_lock(&c->chain_lock);
		for (i = 0; i < FZ_HEADS; i++)
			reap_head(c, &c->heads[i]);
		/* Rings nobody checks: empty them so posters never wait. */
		memset(c->temp_rings, 0, FZ_TEMP_HEADS * 64 * sizeof(void *));
		memset(c->ro_head->completion_ring, 0, 8 * sizeof(void *));
		missing = 0;
		for (i = 0; i < c->ninflight; i++)
			missing += expects_completion(c->inflight[i]);
		pthread_mutex_unlock(&c->chain_lock);
		if (!missing || now_ms() >= until)
			break;
		sleep_ms(2);
	}
	if (final && missing) {
		pthread_mutex_lock(&c->chain_lock);
		for (i = 0; i < c->ninflight; i++) {
			struct chainrec *ch = c->inflight[i];

			if (!expects_completion(ch))
				continue;
			check(c);
			fail(c, "chain at %p (head %ld, %d atoms) went asynchronous %.0f ms ago and never completed",
			     (void *)ch->a, (long)(ch->h - c->heads), ch->n, now_ms() - ch->t_submit);
			dump_chain(c, ch);
			break;
		}
		pthread_mutex_unlock(&c->chain_lock);
	}
	if (final) {
		pthread_mutex_lock(&c->chain_lock);
		while (c->ninflight)
			drop(c, 0);
		pthread_mutex_unlock(&c->chain_lock);
	}
	return missing;
}

/* In a forked child: the parent's chains are not ours. */
void chains_forget(struct ctx *c)
{
	c->ninflight = 0;
	c->untracked_chains = 0;
	c->bg_chains = 0;	/* the parent's run with the parent's fd table */
	for (int i = 0; i < FZ_HEADS; i++)
		c->heads[i].dirty = 1;
}

void op_reap(struct ctx *c, struct rng *r)
{
	int ms = rnd(r, 50);

	flog(c, "  reap, waiting up to %d ms", ms);
	reap_all(c, ms, 0);
}

/* ---- async_wait() ---------------------------------------------------------------- */

/* What a head at p makes async_exec()/async_wait() fail with (the kernel
 * reads its first four words): EFAULT, EINVAL for the 0xa5 pattern of the
 * straddle page, -1 unknown. */
static int bad_head_errno(struct ctx *c, int kind, const void *p)
{
	if (kind == PK_RO)
		return -1;
	if (kind == PK_STRADDLE)
		return c->straddle_end - (const char *)p >= 32 ? EINVAL : EFAULT;
	return EFAULT;
}

void op_async_wait(struct ctx *c, struct rng *r)
{
	struct head *h = &c->heads[rnd(r, FZ_HEADS)];
	struct async_head_user *ahu = h->ahu;
	unsigned long min, idx, k0, k1, slots = h->slots, u, d0, d1;
	int kind = PK_VALID, timer = -1, want = 0;
	long ret;

	if (chance(r, 10)) {
		kind = pick_bad_kind(r);
		ahu = ptr_kind(c, r, kind, sizeof(*ahu));
		want = bad_head_errno(c, kind, ahu);
	} else if (chance(r, 8)) {
		/* a geometry async_wait refuses */
		ahu = &c->temp_heads[rnd(r, FZ_TEMP_HEADS)];
		memset(ahu, 0, sizeof(*ahu));
		ahu->completion_ring = c->temp_rings;
		ahu->ring_size_bytes = chance(r, 50) ? 0 : 12;
		want = EINVAL;
		kind = -1;
	}
	switch (rnd(r, 6)) {
	case 0: min = 0; break;
	case 1: min = 1; break;
	case 2: min = 1 + rnd(r, slots); break;
	case 3: min = slots + 1; break;
	case 4: min = -1UL; break;
	default: min = rnd(r, 3); break;
	}
	switch (rnd(r, 5)) {
	case 0: idx = rnd64(r); break;
	case 1: idx = h->ahu->kernel_ring_idx; break;
	case 2: idx = h->ahu->kernel_ring_idx - rnd(r, 3); break;
	default: idx = h->ahu->user_ring_idx; break;
	}
	if (kind == PK_VALID && min > slots)
		want = EINVAL;
	if (c->seccomp_main && c->deny_errno[__NR_async_wait])
		want = c->deny_errno[__NR_async_wait];
	cov(c, "ptr:async_wait-head:%s", kind < 0 ? "bad-geometry" : ptr_kind_name[kind]);
	cov(c, "wait:min:%s", min == 0 ? "0" : min == 1 ? "1" : min <= slots ? "<=slots" :
	    min == slots + 1 ? "slots+1" : "huge");
	/* It may wait for completions that never come: a signal ends it. */
	if (min > 0)
		timer = kick_me(c, 20 + rnd(r, 200));
	k0 = h->ahu->kernel_ring_idx;
	ret = rsys3(__NR_async_wait, min, idx, ahu);
	k1 = h->ahu->kernel_ring_idx;
	if (timer >= 0)
		unkick(timer);
	count_exec(c, 1);
	cov_err(c, "async_wait", ret);
	flog(c, "  async_wait(%lu, %lu, %s) = %ld", min, idx, kind < 0 ? "bad-geometry" :
	     ptr_kind_name[kind], ret);
	check(c);
	/* The count is an unsigned difference of free-running indices: it
	 * may read as a negative long. */
	u = ret;
	d0 = k0 - idx;
	d1 = k1 - idx;
	if (want > 0) {
		if (ret != -want && !(ret == -EINTR && min > 0))
			fail(c, "async_wait(%lu, %lu, %s head) = %ld, expected -%s", min, idx,
			     kind < 0 ? "bad-geometry" : ptr_kind_name[kind], ret, errname(want));
	} else if (want == 0 && !(ret == -EINTR && min > 0)) {
		if (u - d0 > d1 - d0)
			fail(c, "async_wait(%lu, %lu) = %ld, but kernel_ring_idx was %lu..%lu (pending %lu..%lu)",
			     min, idx, ret, k0, k1, d0, d1);
		else if (u < min)
			fail(c, "async_wait(%lu, %lu) returned %lu, fewer than it waited for", min, idx, u);
	}
	reap_all(c, 0, 0);
}

/* ---- ring geometry of a real head, between chains --------------------------------- */

void op_ring(struct ctx *c, struct rng *r)
{
	struct head *h = &c->heads[rnd(r, FZ_HEADS)];
	int busy = 0, i;

	reap_all(c, 0, 0);
	pthread_mutex_lock(&c->chain_lock);
	for (i = 0; i < c->ninflight; i++)
		busy |= c->inflight[i]->ahu == h->ahu;
	if (!busy) {
		/* Idle: a new size, indices near the wrap of 2^64, or anywhere. */
		static const unsigned long sizes[] = { 1, 2, 3, 5, 7, 8, 64, 255, 256 };
		unsigned long idx = chance(r, 50) ? -1UL - rnd(r, 8) : rnd64(r);

		memset(h->ring, 0, FZ_RING_SLOTS * sizeof(void *));
		h->slots = sizes[rnd(r, sizeof(sizes) / sizeof(sizes[0]))];
		h->ahu->ring_size_bytes = h->slots * sizeof(void *);
		h->ahu->kernel_ring_idx = h->ahu->user_ring_idx = h->user = h->last_k = idx;
		h->dirty = h->corrupt = 0;
		cov(c, "ring:resized-idle:%s", idx > -10UL ? "near-wrap" : "random-index");
		flog(c, "  head %ld: %lu slots, index %lu", (long)(h - c->heads), h->slots, idx);
	}
	pthread_mutex_unlock(&c->chain_lock);
	if (busy || chance(r, 50)) {
		/* Geometry errors on a temporary head, with a one-atom chain. */
		int g = rnd(r, 12), n = 1 + rnd(r, 3);

		for (i = 0; i < n; i++) {
			struct chainrec *ch = build_chain(c, r, 0);

			if (!ch)
				return;
			submit(c, r, ch, g);
		}
	}
}

/* ---- umem_add() directly ----------------------------------------------------------- */

void op_umem(struct ctx *c, struct rng *r)
{
	static const int kinds[] = { PK_VALID, PK_VALID, PK_VALID, PK_UNALIGNED, PK_RO, PK_NULL,
				     PK_KERNEL, PK_KERNEL_TEXT, PK_NONCANON, PK_LOW, PK_UNMAPPED,
				     PK_PROTNONE, PK_STRADDLE, PK_HIGHUSER };
	int kind = kinds[rnd(r, sizeof(kinds) / sizeof(kinds[0]))];
	unsigned long inc = chance(r, 25) ? 0 : chance(r, 30) ? -1UL : rnd64(r) >> rnd(r, 64);
	unsigned long *p, before = 0, after;
	long ret;

	if (kind == PK_VALID) {
		if (c->counter_next >= 500)
			c->counter_next = 8;
		p = &c->counters[c->counter_next++];
		*p = chance(r, 20) ? -1UL - rnd(r, 4) : rnd64(r) >> rnd(r, 64);
	} else if (kind == PK_UNALIGNED) {
		/* across two words of its own: nothing else writes there */
		p = (unsigned long *)((char *)&c->counters[500] + 1 + rnd(r, 7));
		memcpy(p, &(unsigned long){ rnd64(r) }, 8);
	} else if (kind == PK_STRADDLE) {
		/* from the read-only page into the unmapped one after it */
		p = (unsigned long *)(c->ro + 4096 - 1 - rnd(r, 7));
	} else {
		p = ptr_kind(c, r, kind, 8);
	}
	if (kind_readable(kind))
		memcpy(&before, p, 8);
	else if (kind == PK_STRADDLE)
		memcpy(&before, p, c->ro + 4096 - (char *)p);
	ret = rsys2(__NR_umem_add, p, inc);
	count_exec(c, 1);
	cov(c, "ptr:umem_add:%s", ptr_kind_name[kind]);
	cov(c, "umem:inc:%s", inc == 0 ? "0" : inc == -1UL ? "-1" : "other");
	cov_err(c, "umem_add", ret == -EFAULT ? ret : 0);
	flog(c, "  umem_add(%s %p, %#lx) = %ld", ptr_kind_name[kind], (void *)p, inc, ret);
	check(c);
	if (c->seccomp_main && c->deny_errno[__NR_umem_add]) {
		if (ret != -(long)c->deny_errno[__NR_umem_add])
			fail(c, "seccomp gives umem_add errno %d; it returned %ld",
			     c->deny_errno[__NR_umem_add], ret);
	} else if (kind == PK_VALID || kind == PK_UNALIGNED) {
		memcpy(&after, p, 8);
		if (ret != (long)(before + inc) || after != before + inc)
			fail(c, "umem_add(%p = %lu, %lu) = %ld, memory now %lu; expected %lu",
			     (void *)p, before, inc, ret, after, before + inc);
	} else if (kind == PK_RO) {
		if (inc == 0 && ret != (long)before)
			fail(c, "umem_add(read-only %p, 0) = %ld, the value is %lu: a read must work there",
			     (void *)p, ret, before);
		if (inc != 0 && ret != -EFAULT)
			fail(c, "umem_add(read-only %p, %lu) = %ld, expected -EFAULT", (void *)p, inc, ret);
	} else {
		if (ret != -EFAULT)
			fail(c, "umem_add(%s %p, %lu) = %ld, expected -EFAULT", ptr_kind_name[kind],
			     (void *)p, inc, ret);
		if (kind == PK_STRADDLE) {
			after = 0;
			memcpy(&after, p, c->ro + 4096 - (char *)p);
			if (after != before)
				fail(c, "umem_add across a page end failed but changed the mapped bytes");
		}
	}
}
