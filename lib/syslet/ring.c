// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The completion ring (Documentation/syslets.md, "The ring"): the kernel
 * stores a finished chain's last atom into slot kernel_ring_idx % nslots,
 * then advances kernel_ring_idx (store-release); user space reads slot
 * user_ring_idx % nslots, clears it to NULL and advances user_ring_idx.
 * Both indices run freely and wrap modulo 2^64.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define RING_OWNS_SLOTS	0x1

SYSLET_API int syslet_ring_init(struct syslet_ring *r, unsigned int entries)
{
	struct syslet_uatom **slots;

	if (!r || !entries || entries > SYSLET_RING_MAX_ENTRIES)
		return -EINVAL;
	slots = calloc(entries, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	syslet_ring_init_mem(r, slots, (size_t)entries * sizeof(*slots));
	r->flags = RING_OWNS_SLOTS;
	return 0;
}

SYSLET_API int syslet_ring_init_mem(struct syslet_ring *r, struct syslet_uatom **slots,
				    size_t bytes)
{
	if (!r || !slots || !bytes || bytes % sizeof(*slots) ||
	    (uintptr_t)slots % sizeof(*slots))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	memset(slots, 0, bytes);
	r->slots = slots;
	r->nslots = bytes / sizeof(*slots);
	r->head.completion_ring = slots;
	r->head.ring_size_bytes = bytes;
	return 0;
}

SYSLET_API void syslet_ring_exit(struct syslet_ring *r)
{
	if (!r)
		return;
	if (r->flags & RING_OWNS_SLOTS)
		free(r->slots);
	memset(r, 0, sizeof(*r));
}

SYSLET_API unsigned long syslet_ring_ready(const struct syslet_ring *r)
{
	unsigned long k = __atomic_load_n(&r->head.kernel_ring_idx, __ATOMIC_ACQUIRE);

	return k - __atomic_load_n(&r->head.user_ring_idx, __ATOMIC_RELAXED);
}

SYSLET_API int syslet_ring_peek(struct syslet_ring *r, struct syslet_uatom **atom)
{
	struct syslet_uatom *a;

	if (!r->slots)
		return -EAGAIN;
	a = __atomic_load_n(sl_slot(r, r->head.user_ring_idx), __ATOMIC_ACQUIRE);
	if (!a)
		return -EAGAIN;
	*atom = a;
	return 0;
}

SYSLET_API unsigned int syslet_ring_peek_batch(struct syslet_ring *r,
					       struct syslet_uatom **atoms, unsigned int max)
{
	unsigned long ready = syslet_ring_ready(r), idx = r->head.user_ring_idx;
	unsigned int n;

	if (!r->slots)
		return 0;
	if (ready > r->nslots)	/* a corrupt head: never read a slot twice */
		ready = r->nslots;
	for (n = 0; n < max && n < ready; n++) {
		atoms[n] = __atomic_load_n(sl_slot(r, idx + n), __ATOMIC_ACQUIRE);
		if (!atoms[n])
			break;
	}
	return n;
}

SYSLET_API int syslet_ring_advance(struct syslet_ring *r, unsigned long n)
{
	unsigned long i, idx = r->head.user_ring_idx;

	if (n > syslet_ring_ready(r) || n > r->nslots)
		return -EINVAL;
	/* Release: what the caller read through the atoms is read before
	 * the kernel may reuse the slot. */
	for (i = 0; i < n; i++)
		__atomic_store_n(sl_slot(r, idx + i), NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&r->head.user_ring_idx, idx + n, __ATOMIC_RELEASE);
	return 0;
}

SYSLET_API long syslet_ring_wait(struct syslet_ring *r, unsigned long min)
{
	if (!r)
		return -EINVAL;
	return syslet_async_wait(min, r->head.user_ring_idx, &r->head);
}

SYSLET_API int syslet_ring_reap(struct syslet_ring *r, struct syslet_uatom **atom,
				const struct timespec *timeout)
{
	long n;

	if (!atom)
		return -EINVAL;
	n = syslet_ring_wait_timeout(r, 1, timeout);
	if (n < 0)
		return (int)n;
	if (syslet_ring_peek(r, atom))
		return -EAGAIN;
	return syslet_ring_advance(r, 1);
}
