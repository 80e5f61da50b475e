// SPDX-License-Identifier: GPL-2.0
/*
 * The arena: one mapping per iteration that holds every byte the kernel
 * may read or write on the fuzzer's behalf (atoms, results, argument
 * values, rings, I/O buffers), next to pages of every kind a pointer can
 * land in: read-only, PROT_NONE, unmapped, a page end followed by
 * PROT_NONE. A "valid" pointer the fuzzer hands out always points into the
 * arena, so whatever the kernel writes there (a read() into an atom, a
 * result stored through a stray ret_ptr) can never reach the fuzzer's own
 * state.
 */
#include "fuzz.h"

#define PAGE		4096UL
#define P_ATOMS		0	/* 10 pages */
#define N_ATOMS_PAGES	10
#define P_RETS		10	/* 2 */
#define P_VALS		12	/* 2 */
#define P_COUNTERS	14	/* 1 */
#define P_HEADS		15	/* 1 */
#define P_RINGS		16	/* 8 */
#define P_DATA		24	/* 16 */
#define N_DATA_PAGES	16
#define P_STRADDLE	40	/* RW, then 41 PROT_NONE */
#define P_RO		42
#define P_UNMAPPED	43
#define P_PROTNONE	44
#define N_PAGES		45

#define FZ_RETS		(2 * PAGE / sizeof(long))
#define FZ_VALS		(2 * PAGE / sizeof(long))

const char *const ptr_kind_name[PK_NKINDS] = {
	[PK_VALID] = "valid", [PK_NULL] = "null", [PK_KERNEL] = "kernel-direct-map",
	[PK_KERNEL_TEXT] = "kernel-text", [PK_NONCANON] = "non-canonical",
	[PK_LOW] = "low", [PK_UNMAPPED] = "unmapped", [PK_RO] = "read-only",
	[PK_PROTNONE] = "prot-none", [PK_STRADDLE] = "straddles-page-end",
	[PK_RING] = "into-ring", [PK_ATOM] = "into-atoms", [PK_UNALIGNED] = "unaligned",
	[PK_HIGHUSER] = "top-of-user", [PK_ARGS] = "into-args",
};

/* Where the read-only page keeps what. */
enum {
	RO_VALS = 0,		/* 64 constants */
	RO_TS = 1024,		/* timespecs */
	RO_ATOM = 2048,
	RO_HEAD = 3072,
};

int arena_setup(struct ctx *c)
{
	char *a = mmap(NULL, N_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct timespec *ts;
	unsigned long *rv;
	int i;

	if (a == MAP_FAILED)
		return -1;
	c->arena = a;
	c->arena_len = N_PAGES * PAGE;
	c->atoms = (struct syslet_uatom *)(a + P_ATOMS * PAGE);
	c->natoms = N_ATOMS_PAGES * PAGE / sizeof(struct syslet_uatom);
	c->rets = (long *)(a + P_RETS * PAGE);
	c->vals = (unsigned long *)(a + P_VALS * PAGE);
	c->counters = (unsigned long *)(a + P_COUNTERS * PAGE);
	c->data = a + P_DATA * PAGE;
	c->data_len = N_DATA_PAGES * PAGE;
	c->straddle_end = a + (P_STRADDLE + 1) * PAGE;
	c->ro = a + P_RO * PAGE;
	c->unmapped = a + P_UNMAPPED * PAGE;
	c->protnone = a + P_PROTNONE * PAGE;
	/* I/O data: a pattern that makes no valid pointer, flag word or small
	 * system call number when it lands in an atom (see fz-chain.c). */
	memset(c->data, 0xa5, c->data_len);
	memset(a + P_STRADDLE * PAGE, 0xa5, PAGE);

	/* Heads and their rings: slots vary per head, one starts near the
	 * wrap of kernel_ring_idx. */
	for (i = 0; i < FZ_HEADS; i++) {
		static const unsigned long slots[FZ_HEADS] = { 64, 8, 3, 256 };
		struct head *h = &c->heads[i];

		h->ahu = (struct async_head_user *)(a + P_HEADS * PAGE) + i;
		h->ring = (struct syslet_uatom **)(a + P_RINGS * PAGE) + i * FZ_RING_SLOTS;
		h->slots = slots[i];
		h->ahu->completion_ring = h->ring;
		h->ahu->ring_size_bytes = h->slots * sizeof(void *);
	}
	c->heads[3].ahu->kernel_ring_idx = c->heads[3].ahu->user_ring_idx = -5UL;
	for (i = 0; i < FZ_HEADS; i++)
		c->heads[i].last_k = c->heads[i].user = c->heads[i].ahu->user_ring_idx;
	c->temp_heads = (struct async_head_user *)(a + P_HEADS * PAGE) + FZ_HEADS;
	c->temp_rings = (struct syslet_uatom **)(a + (P_RINGS + 2) * PAGE);

	/* The read-only page. */
	rv = (unsigned long *)(c->ro + RO_VALS);
	ts = (struct timespec *)(c->ro + RO_TS);
	ts[0] = (struct timespec){ 0, 1000000 };
	ts[1] = (struct timespec){ 0, 3000000 };
	ts[2] = (struct timespec){ 0, 0 };
	rv[0] = 0;
	rv[1] = 1;
	rv[2] = -1UL;
	rv[3] = (unsigned long)&ts[0];
	rv[4] = (unsigned long)&ts[1];
	rv[5] = (unsigned long)&ts[2];
	rv[6] = 2;
	rv[7] = 128;		/* FUTEX_WAIT_PRIVATE */
	rv[8] = (unsigned long)&c->counters[0];	/* a futex word that stays 0 */
	rv[9] = 1;		/* CLOCK_MONOTONIC */
	rv[10] = 3;		/* poll timeout, ms */
	rv[11] = 0xffffffffUL;	/* 11..14: descriptors close() atoms get (fz-chain.c) */
	rv[12] = 0x7fffffffUL;
	rv[13] = NONLINEAR_FD;
	rv[14] = 1000000;
	c->ro_vals = rv;
	strcpy(c->ro + 3584, "/dev/null");
	strcpy(c->ro + 3584 + 16, "/nonexistent");
	strcpy(c->ro + 3584 + 32, "fz");
	c->ro_atom = (struct syslet_uatom *)(c->ro + RO_ATOM);
	c->ro_atom_ret = &c->rets[0];
	c->ro_atom->nr = __NR_getppid;
	c->ro_atom->ret_ptr = c->ro_atom_ret;
	c->ro_head = (struct async_head_user *)(c->ro + RO_HEAD);
	c->ro_head->completion_ring = (struct syslet_uatom **)(a + (P_RINGS + 7) * PAGE);
	c->ro_head->ring_size_bytes = 8 * sizeof(void *);
	c->ret_next = 1;
	c->counter_next = 8;	/* 0..7: futex words */

	area_add(c, a, (P_STRADDLE + 1) * PAGE);	/* everything up to the straddle page */
	area_add(c, c->ro, PAGE);
	if (mprotect(c->ro, PAGE, PROT_READ) ||
	    mprotect(a + (P_STRADDLE + 1) * PAGE, PAGE, PROT_NONE) ||
	    mprotect(c->protnone, PAGE, PROT_NONE) ||
	    munmap(c->unmapped, PAGE))
		return -1;
	return 0;
}

/* A fresh page-pair for results or argument values, when the old one
 * is used up while chains may still read or write it. */
static void *fresh_area(struct ctx *c, void *old)
{
	void *m;
	int busy;

	pthread_mutex_lock(&c->chain_lock);
	busy = c->ninflight;
	pthread_mutex_unlock(&c->chain_lock);
	if (!busy)
		return old;
	m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED)
		return old;
	area_add(c, m, 2 * PAGE);
	return m;	/* the old one leaks until exit */
}

void area_add(struct ctx *c, void *p, size_t len)
{
	if (c->nareas < (int)(sizeof(c->areas) / sizeof(c->areas[0]))) {
		c->areas[c->nareas].p = p;
		c->areas[c->nareas].len = len;
		c->nareas++;
	}
}

/* A fresh result slot. */
long *ret_slot(struct ctx *c)
{
	if (c->ret_next >= (int)FZ_RETS) {
		c->rets = fresh_area(c, c->rets);
		c->ret_next = 1;
	}
	return &c->rets[c->ret_next++];
}

/* A fresh argument variable holding v. */
unsigned long *val_slot(struct ctx *c, unsigned long v)
{
	unsigned long *p;

	if (c->val_next >= (int)FZ_VALS) {
		c->vals = fresh_area(c, c->vals);
		c->val_next = 0;
	}
	p = &c->vals[c->val_next++];
	*p = v;
	return p;
}

/* len bytes of I/O buffer in the data area (len is clamped to fit). */
char *data_buf(struct ctx *c, struct rng *r, size_t len)
{
	if (len >= c->data_len)
		return c->data;
	return c->data + rnd(r, c->data_len - len);
}

/* n contiguous atoms, zeroed, plus one spare after them (atom + 1 of the
 * last is still in the area). A new area when the old one is used up and
 * chains may still be reading it. */
struct syslet_uatom *atom_alloc(struct ctx *c, int n)
{
	struct syslet_uatom *a;

	if (c->atom_next + n + 1 > c->natoms) {
		int busy;

		pthread_mutex_lock(&c->chain_lock);
		busy = c->ninflight || c->untracked_chains;
		pthread_mutex_unlock(&c->chain_lock);
		if (busy) {
			void *m = mmap(NULL, N_ATOMS_PAGES * PAGE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

			if (m == MAP_FAILED)
				return NULL;
			area_add(c, m, N_ATOMS_PAGES * PAGE);
			c->atoms = m;	/* the old area leaks until exit */
		}
		c->atom_next = 0;
	}
	a = &c->atoms[c->atom_next];
	c->atom_next += n + 1;
	memset(a, 0, (n + 1) * sizeof(*a));
	a[n].nr = __NR_getpid;	/* the spare: a harmless atom */
	return a;
}

/* One of the kinds that are not a valid pointer. */
int pick_bad_kind(struct rng *r)
{
	static const int bad[] = { PK_NULL, PK_KERNEL, PK_KERNEL_TEXT, PK_NONCANON,
				   PK_LOW, PK_UNMAPPED, PK_RO, PK_PROTNONE, PK_STRADDLE,
				   PK_HIGHUSER };

	return bad[rnd(r, sizeof(bad) / sizeof(bad[0]))];
}

/* Whether the kernel can read `size` bytes at a pointer of this kind. */
int kind_readable(int kind)
{
	switch (kind) {
	case PK_VALID: case PK_RO: case PK_RING: case PK_ATOM: case PK_UNALIGNED:
	case PK_ARGS:
		return 1;
	default:
		return 0;
	}
}

/* A pointer of `kind` with room for `size` bytes where it is valid at all;
 * PK_STRADDLE gives an object whose first bytes are mapped and whose last
 * are not. */
void *ptr_kind(struct ctx *c, struct rng *r, int kind, size_t size)
{
	static const unsigned long kern[] = { 0xffff888000000000UL, 0xffff888000001000UL,
					      0xffffc90000000000UL, 0xffffea0000000000UL };
	static const unsigned long nonc[] = { 0x0000800000000000UL, 0x4141414141414141UL,
					      0x8000000000000000UL, 0xa5a5a5a5a5a5a5a5UL };
	static const unsigned long low[] = { 8, 4088, 0x10000, 4095 };

	if (size == 0)
		size = 8;
	switch (kind) {
	case PK_NULL:
		return NULL;
	case PK_KERNEL:
		return (void *)(kern[rnd(r, 4)] + 8 * rnd(r, 512));
	case PK_KERNEL_TEXT:
		return (void *)0xffffffff81000000UL;
	case PK_NONCANON:
		return (void *)nonc[rnd(r, 4)];
	case PK_LOW:
		return (void *)low[rnd(r, 4)];
	case PK_UNMAPPED:
		return c->unmapped + 8 * rnd(r, PAGE / 8 - 1);
	case PK_RO:
		return c->ro + 8 * rnd(r, (PAGE - size) / 8);
	case PK_PROTNONE:
		return c->protnone + 8 * rnd(r, PAGE / 8 - 1);
	case PK_STRADDLE:
		return c->straddle_end - (size > 1 ? 1 + rnd(r, size - 1) : 0);
	case PK_RING:
		c->heads[0].corrupt = 1;	/* whatever lands there is no completion */
		return (char *)c->heads[0].ring + 8 * rnd(r, 8);
	case PK_ATOM:
		/* Only the `private` field of atoms of chains already
		 * finished or not yet built: fz-chain.c explains why. */
		c->atoms_wgen++;
		return &c->atoms[rnd(r, c->natoms - 1)].private;
	case PK_UNALIGNED:
		return data_buf(c, r, size + 8) + 1 + rnd(r, 7);
	case PK_HIGHUSER:
		return (void *)(0x7ffffffff000UL - 8 * rnd(r, 4));
	case PK_ARGS:
		return &c->vals[rnd(r, FZ_VALS - 1)];
	case PK_VALID:
	default:
		return data_buf(c, r, size);
	}
}
