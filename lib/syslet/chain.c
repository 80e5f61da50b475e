// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Chains: atoms in one array (SYSLET_SKIP_TO_NEXT_ON_STOP continues at
 * atom + 1 in memory, so the order of addition is the order in memory),
 * their argument values and result cells, owned by the chain so that the
 * caller fills no struct by hand. Nothing here makes a system call but
 * syslet_chain_submit().
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* state[] per atom: the argument count in the low bits, and: */
#define ST_NARGS	0x07
#define ST_LINKED	0x08	/* next set explicitly: no automatic link */
#define ST_RETREF	0x10	/* result goes elsewhere (or nowhere) */

#define RUN_FLAGS	(SYSLET_ASYNC | SYSLET_SYNC | SYSLET_NO_COMPLETE)

static int valid(const struct syslet_chain *c)
{
	return c && c->magic == SL_CHAIN_MAGIC;
}

static int busy(const struct syslet_chain *c)
{
	return __atomic_load_n(&c->busy, __ATOMIC_ACQUIRE);
}

/* The checks every atom setter starts with: 0, -EINVAL or -EBUSY. */
static int check_atom(const struct syslet_chain *c, int idx)
{
	if (!valid(c) || idx < 0 || (unsigned int)idx >= c->count)
		return -EINVAL;
	return busy(c) ? -EBUSY : 0;
}

/* A link target: an index below the capacity, or SYSLET_END. */
static int check_target(const struct syslet_chain *c, int target)
{
	return target == SYSLET_END ||
	       (target >= 0 && (unsigned int)target < c->capacity) ? 0 : -EINVAL;
}

SYSLET_API int syslet_chain_init(struct syslet_chain *c, unsigned int capacity)
{
	if (!c || !capacity || capacity > SYSLET_CHAIN_MAX_ATOMS)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->atoms = calloc(capacity, sizeof(*c->atoms));
	c->args = calloc((size_t)capacity * 6, sizeof(*c->args));
	c->results = calloc(capacity, sizeof(*c->results));
	c->state = calloc(capacity, 1);
	if (!c->atoms || !c->args || !c->results || !c->state) {
		free(c->atoms);
		free(c->args);
		free(c->results);
		free(c->state);
		memset(c, 0, sizeof(*c));
		return -ENOMEM;
	}
	c->capacity = capacity;
	c->last = -1;
	c->magic = SL_CHAIN_MAGIC;
	return 0;
}

SYSLET_API int syslet_chain_exit(struct syslet_chain *c)
{
	if (!valid(c))
		return -EINVAL;
	if (busy(c))
		return -EBUSY;
	free(c->atoms);
	free(c->args);
	free(c->results);
	free(c->state);
	memset(c, 0, sizeof(*c));
	return 0;
}

SYSLET_API int syslet_chain_reset(struct syslet_chain *c)
{
	if (!valid(c))
		return -EINVAL;
	if (busy(c))
		return -EBUSY;
	memset(c->atoms, 0, (size_t)c->capacity * sizeof(*c->atoms));
	memset(c->state, 0, c->capacity);
	c->count = 0;
	c->last = -1;
	return 0;
}

SYSLET_API int syslet_chain_add(struct syslet_chain *c, unsigned long nr,
				unsigned int nargs, const unsigned long *args)
{
	struct syslet_uatom *a;
	unsigned int i, j;

	if (!valid(c) || nargs > 6 || (nargs && !args))
		return -EINVAL;
	if (busy(c))
		return -EBUSY;
	if (c->count == c->capacity)
		return -ENOSPC;
	i = c->count;
	a = &c->atoms[i];
	memset(a, 0, sizeof(*a));
	a->nr = nr;
	a->ret_ptr = &c->results[i];
	for (j = 0; j < nargs; j++) {
		c->args[i * 6 + j] = args[j];
		a->arg_ptr[j] = &c->args[i * 6 + j];
	}
	a->private = c;
	c->results[i] = SYSLET_RESULT_UNSET;
	c->state[i] = nargs;
	if (i > 0 && !(c->state[i - 1] & ST_LINKED))
		c->atoms[i - 1].next = a;
	c->count++;
	c->last = -1;
	return (int)i;
}

/* Argument i of atom idx may be set when it exists or is the next one. */
static int arg_slot(struct syslet_chain *c, int idx, unsigned int i)
{
	int err = check_atom(c, idx);

	if (err)
		return err;
	if (i >= 6 || i > (c->state[idx] & ST_NARGS))
		return -EINVAL;
	if (i == (c->state[idx] & ST_NARGS))
		c->state[idx]++;
	return 0;
}

SYSLET_API int syslet_atom_set_arg(struct syslet_chain *c, int idx, unsigned int i,
				   unsigned long v)
{
	int err = arg_slot(c, idx, i);

	if (err)
		return err;
	c->args[idx * 6 + i] = v;
	c->atoms[idx].arg_ptr[i] = &c->args[idx * 6 + i];
	return 0;
}

SYSLET_API int syslet_atom_arg_ref(struct syslet_chain *c, int idx, unsigned int i,
				   unsigned long *var)
{
	int err;

	if (!var)
		return -EINVAL;
	err = arg_slot(c, idx, i);
	if (err)
		return err;
	c->atoms[idx].arg_ptr[i] = var;
	return 0;
}

SYSLET_API int syslet_atom_arg_result(struct syslet_chain *c, int idx, unsigned int i,
				      int src)
{
	int err = check_atom(c, src);

	if (err)
		return err;
	/* The kernel stores a long and reads an unsigned long: same bits. */
	return syslet_atom_arg_ref(c, idx, i, (unsigned long *)c->atoms[src].ret_ptr);
}

SYSLET_API int syslet_atom_ret_ref(struct syslet_chain *c, int idx, long *cell)
{
	int err = check_atom(c, idx);

	if (err)
		return err;
	c->atoms[idx].ret_ptr = cell;
	c->state[idx] |= ST_RETREF;
	c->results[idx] = SYSLET_RESULT_UNSET;
	return 0;
}

SYSLET_API int syslet_atom_set_flags(struct syslet_chain *c, int idx, unsigned long flags)
{
	int err = check_atom(c, idx);

	if (err)
		return err;
	if ((flags & ~RUN_FLAGS) ||
	    (flags & (SYSLET_ASYNC | SYSLET_SYNC)) == (SYSLET_ASYNC | SYSLET_SYNC))
		return -EINVAL;
	c->atoms[idx].flags = (c->atoms[idx].flags & ~RUN_FLAGS) | flags;
	return 0;
}

SYSLET_API int syslet_atom_stop_on(struct syslet_chain *c, int idx, unsigned long stop)
{
	int err = check_atom(c, idx);

	if (err)
		return err;
	if (stop & ~SYSLET_STOP_MASK)
		return -EINVAL;
	c->atoms[idx].flags &= ~(SYSLET_STOP_MASK | SYSLET_SKIP_TO_NEXT_ON_STOP);
	c->atoms[idx].flags |= stop;
	return 0;
}

SYSLET_API int syslet_atom_link(struct syslet_chain *c, int idx, int target)
{
	int err = check_atom(c, idx);

	if (err)
		return err;
	if (check_target(c, target))
		return -EINVAL;
	c->atoms[idx].next = target == SYSLET_END ? NULL : &c->atoms[target];
	c->state[idx] |= ST_LINKED;
	return 0;
}

SYSLET_API int syslet_atom_branch(struct syslet_chain *c, int idx, unsigned long stop,
				  int target)
{
	int err = check_atom(c, idx);

	if (err)
		return err;
	if (!stop || (stop & ~SYSLET_STOP_MASK) || check_target(c, target))
		return -EINVAL;
	err = syslet_atom_link(c, idx, target);
	if (err)
		return err;
	c->atoms[idx].flags &= ~SYSLET_STOP_MASK;
	c->atoms[idx].flags |= stop | SYSLET_SKIP_TO_NEXT_ON_STOP;
	return 0;
}

SYSLET_API struct syslet_uatom *syslet_chain_atom(const struct syslet_chain *c, int idx)
{
	if (!valid(c) || idx < 0 || (unsigned int)idx >= c->count)
		return NULL;
	return &c->atoms[idx];
}

SYSLET_API int syslet_chain_index(const struct syslet_chain *c, const struct syslet_uatom *a)
{
	uintptr_t base, p = (uintptr_t)a;

	if (!valid(c) || !a)
		return -EINVAL;
	base = (uintptr_t)c->atoms;
	if (p < base || (p - base) % sizeof(*a) || (p - base) / sizeof(*a) >= c->count)
		return -EINVAL;
	return (int)((p - base) / sizeof(*a));
}

SYSLET_API long syslet_chain_result(const struct syslet_chain *c, int idx)
{
	if (!valid(c) || idx < 0 || (unsigned int)idx >= c->count)
		return SYSLET_RESULT_UNSET;
	return __atomic_load_n(&c->results[idx], __ATOMIC_ACQUIRE);
}

SYSLET_API int syslet_chain_last(const struct syslet_chain *c)
{
	if (!valid(c))
		return -EINVAL;
	if (busy(c))
		return -EBUSY;
	return c->last < 0 ? -ENODATA : c->last;
}

/* Every link leads to an atom that was added; no branch leaves the array. */
static int check_links(const struct syslet_chain *c)
{
	unsigned int i;

	for (i = 0; i < c->count; i++) {
		const struct syslet_uatom *a = &c->atoms[i];

		if (a->next && syslet_chain_index(c, a->next) < 0)
			return -EINVAL;
		if ((a->flags & SYSLET_SKIP_TO_NEXT_ON_STOP) && i + 1 == c->count)
			return -EINVAL;
	}
	return 0;
}

SYSLET_API int syslet_chain_submit(struct syslet_chain *c, struct syslet_ring *r)
{
	unsigned int i;
	long ret;

	if (!valid(c) || !r || !r->slots || !c->count)
		return -EINVAL;
	if (busy(c))
		return -EBUSY;
	if (check_links(c))
		return -EINVAL;
	for (i = 0; i < c->count; i++)
		if (!(c->state[i] & ST_RETREF))
			c->results[i] = SYSLET_RESULT_UNSET;
	c->last = -1;
	/* Before the call: the completion may be reaped by another thread
	 * before async_exec() has returned here. */
	__atomic_store_n(&c->busy, 1, __ATOMIC_SEQ_CST);
	ret = syslet_async_exec(&c->atoms[0], &r->head);
	if (ret == 0)
		return SYSLET_CHAIN_ASYNC;
	if (ret > 0)
		c->last = syslet_chain_index(c, (const struct syslet_uatom *)ret);
	__atomic_store_n(&c->busy, 0, __ATOMIC_RELEASE);
	return ret < 0 ? (int)ret : SYSLET_CHAIN_DONE;
}

SYSLET_API int syslet_chain_release(struct syslet_chain *c)
{
	if (!valid(c))
		return -EINVAL;
	__atomic_store_n(&c->busy, 0, __ATOMIC_RELEASE);
	return 0;
}

SYSLET_API int syslet_chain_reap(struct syslet_ring *r, struct syslet_chain **cp,
				 const struct timespec *timeout)
{
	struct syslet_uatom *a;
	struct syslet_chain *c;
	long n;
	int idx;

	if (!cp)
		return -EINVAL;
	n = syslet_ring_wait_timeout(r, 1, timeout);
	if (n < 0)
		return (int)n;
	if (syslet_ring_peek(r, &a))
		return -EAGAIN;
	c = a->private;
	if (!valid(c) || (idx = syslet_chain_index(c, a)) < 0)
		return -EPROTO;
	syslet_ring_advance(r, 1);
	c->last = idx;
	__atomic_store_n(&c->busy, 0, __ATOMIC_RELEASE);
	*cp = c;
	return 0;
}
