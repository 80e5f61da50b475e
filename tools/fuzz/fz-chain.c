// SPDX-License-Identifier: GPL-2.0
/*
 * Random chains for async_exec(), and the oracle that judges them.
 *
 * Every chain is built in the arena from a closed set of calls whose side
 * effects stay inside the iteration (getpid ... read/write on the
 * iteration's own descriptors, bounded sleeps, umem_add, refused and
 * unknown numbers), so that nothing a chain does, whatever its pointers,
 * can hurt the fuzzer or the guest. Calls that block are all bounded
 * (timeouts live in the read-only page, every descriptor is non-blocking
 * or a periodic timerfd), so a chain that is not deliberately endless
 * always ends.
 *
 * The oracle (sim_chain) walks the chain the way Documentation/syslets.md
 * says the engine does, using the results the kernel stored, and checks
 * where it stopped, which atoms ran, each result against a model of its
 * call, and the error async_exec() returned.
 */
#include "fz-chain.h"
#include <linux/futex.h>
#include <poll.h>

static const int call_weight[C_NCALLS] = {
	[C_GETPID] = 8, [C_GETPPID] = 6, [C_GETTID] = 3, [C_GETUID] = 3, [C_YIELD] = 2,
	[C_UMEM] = 10, [C_READ] = 6, [C_WRITE] = 6, [C_PREAD] = 4, [C_PWRITE] = 3,
	[C_LSEEK] = 2, [C_FSTAT] = 3, [C_CLOSE_BAD] = 3, [C_DUP] = 2, [C_FDUP] = 3,
	[C_DUP2NL] = 2, [C_FCNTL] = 3, [C_NANOSLEEP] = 3, [C_CLOCK_NANOSLEEP] = 2,
	[C_FUTEX_WAIT] = 2, [C_FUTEX_WAKE] = 2, [C_FUTEX_PI] = 2, [C_POLL] = 2,
	[C_TIMERFD_READ] = 2, [C_GETRANDOM] = 2, [C_OPEN_NL] = 2, [C_MEMFD_NL] = 1,
	[C_PIPE2_NL] = 1, [C_UNAME] = 1, [C_REFUSED] = 7, [C_UNKNOWN] = 6,
};
/* Results that do not vary between two runs of the atom. */
static int deterministic(int call)
{
	switch (call) {
	case C_GETPID: case C_GETPPID: case C_GETUID: case C_YIELD: case C_CLOSE_BAD:
	case C_FUTEX_PI: case C_REFUSED: case C_UNKNOWN:
		return 1;
	}
	return 0;
}
static int blocking(int call)
{
	return call == C_NANOSLEEP || call == C_CLOCK_NANOSLEEP || call == C_FUTEX_WAIT ||
	       call == C_POLL || call == C_TIMERFD_READ;
}

/* ---- building ------------------------------------------------------------------ */

struct gen {
	struct ctx *c;
	struct rng *r;
	struct chainrec *ch;
	int nasty;		/* 0 clean, 1 bad pointers the oracle follows, 2 wild */
	int plain;		/* arguments exactly as given (futex: a cut list waits forever) */
	int opened;		/* fds this chain may leak */
};

/* arg_ptr[k] of atom i := a fresh variable holding v (or, when nasty, a
 * pointer of another kind). Returns 0 when the argument list was cut. */
static int arg(struct gen *g, int i, int k, unsigned long v)
{
	struct syslet_uatom *a = &g->ch->a[i];
	struct rng *r = g->r;
	int kind = PK_VALID;

	if (g->nasty && !g->plain && chance(r, g->nasty == 2 ? 10 : 3)) {
		kind = chance(r, 30) ? PK_NULL : pick_bad_kind(r);
		if (g->nasty == 2 && chance(r, 40))
			kind = chance(r, 50) ? PK_ARGS : PK_RO;
	}
	cov(g->c, "ptr:arg_ptr:%s", ptr_kind_name[kind]);
	if (kind == PK_VALID) {
		a->arg_ptr[k] = val_slot(g->c, v);
		return 1;
	}
	a->arg_ptr[k] = ptr_kind(g->c, r, kind, 8);
	g->ch->spec[i].model = MK_ANY;
	if (kind == PK_NULL && k + 1 < 6 && chance(r, 50))
		/* never read: the list ended at the NULL */
		a->arg_ptr[k + 1] = (unsigned long *)8;
	return kind != PK_NULL;
}

/* arg_ptr[k] := the read-only constant ro_vals[idx] (timeouts: nobody can
 * make them long). */
static void arg_ro(struct gen *g, int i, int k, int idx)
{
	g->ch->a[i].arg_ptr[k] = (unsigned long *)&g->c->ro_vals[idx];
	cov(g->c, "ptr:arg_ptr:read-only-constant");
}

/* A buffer argument: usually the data area, sometimes a pointer of any
 * kind. Into the ring, the atoms or the argument variables only for
 * `small` buffers (8 bytes): a longer write there would run over the
 * arena's own bookkeeping (heads, results) and make the oracle lie. */
static unsigned long buf_arg(struct gen *g, size_t len, int small)
{
	struct rng *r = g->r;
	int kind = PK_VALID;

	if (g->nasty && chance(r, g->nasty == 2 ? 30 : 12)) {
		kind = pick_bad_kind(r);
		if (chance(r, 25))
			kind = PK_UNALIGNED;
		if (g->nasty == 2 && small && chance(r, 40))
			kind = chance(r, 50) ? PK_RING : PK_ATOM;
	}
	cov(g->c, "ptr:buffer:%s", ptr_kind_name[kind]);
	return (unsigned long)ptr_kind(g->c, r, kind, len);
}

static unsigned long pick_len(struct rng *r)
{
	static const unsigned long lens[] = { 0, 1, 8, 100, 4096, 4097, 65536, 1UL << 31, -1UL };

	return lens[rnd(r, sizeof(lens) / sizeof(lens[0]))];
}

static int pick_call(struct rng *r, int det_only)
{
	int total = 0, i, x;

	for (i = 0; i < C_NCALLS; i++)
		if (!det_only || deterministic(i))
			total += call_weight[i];
	x = rnd(r, total);
	for (i = 0; i < C_NCALLS; i++) {
		if (det_only && !deterministic(i))
			continue;
		if (x < call_weight[i])
			return i;
		x -= call_weight[i];
	}
	return C_GETPID;
}

static unsigned long unknown_nr(struct rng *r)
{
	static const unsigned long fixed[] = {
		463, 511, 512, 530, 547, 548, 599, 606, 615, 1023, 1024, 1UL << 32,
		0x40000000UL | 0, 0x40000000UL | 39, 0x40000000UL | 600, -1UL,
		0x8000000000000000UL, 0xffffffffUL,
	};
	switch (rnd(r, 4)) {
	case 0: return 463 + rnd(r, 600 - 463);
	case 1: return 606 + rnd(r, 1024 - 606);
	case 2: return 1024 + rnd64(r) % (1UL << 40);
	default: return fixed[rnd(r, sizeof(fixed) / sizeof(fixed[0]))];
	}
}

/* Fills atom i with call `call`; sets its model. */
static void gen_call(struct gen *g, int i, int call)
{
	struct ctx *c = g->c;
	struct rng *r = g->r;
	struct chainrec *ch = g->ch;
	struct syslet_uatom *a = &ch->a[i];
	struct atomspec *s = &ch->spec[i];
	unsigned long len, v, *ctr;
	int fd;

	if ((call == C_OPEN_NL || call == C_MEMFD_NL || call == C_PIPE2_NL || call == C_DUP ||
	     call == C_FDUP || call == C_DUP2NL) && g->opened++ > 3)
		call = C_GETPID;	/* each of these leaks a descriptor */
	s->call = call;
	s->model = MK_ANY;
	switch (call) {
	case C_GETPID:
		a->nr = __NR_getpid;
		s->model = MK_EXACT;	/* expect filled in at submission */
		break;
	case C_GETPPID:
		a->nr = __NR_getppid;
		s->model = MK_EXACT;
		break;
	case C_GETTID:
		a->nr = __NR_gettid;
		s->model = MK_POS;
		break;
	case C_GETUID:
		a->nr = __NR_getuid;
		s->model = MK_EXACT;
		break;
	case C_YIELD:
		a->nr = __NR_sched_yield;
		s->model = MK_EXACT;
		s->expect = 0;
		break;
	case C_UMEM: {
		int kind = PK_VALID;
		unsigned long inc = chance(r, 20) ? 0 : chance(r, 50) ? 1 : rnd64(r) >> rnd(r, 64);

		a->nr = __NR_umem_add;
		if (c->counter_next >= 500)
			c->counter_next = 8;
		ctr = &c->counters[c->counter_next++];
		*ctr = chance(r, 50) ? rnd(r, 100) : rnd64(r);
		if (g->nasty && chance(r, 25))
			kind = chance(r, 30) ? PK_RO : chance(r, 20) ? PK_UNALIGNED : pick_bad_kind(r);
		if (g->nasty == 2 && chance(r, 20))
			kind = PK_ATOM;
		cov(c, "ptr:umem_add:%s", ptr_kind_name[kind]);
		v = kind == PK_VALID ? (unsigned long)ctr : (unsigned long)ptr_kind(c, r, kind, 8);
		/* The model first: arg() makes it MK_ANY when it hands the
		 * kernel another pointer than the variable holding v or inc
		 * (whose value the model then cannot know). */
		s->model = MK_EXACT;
		if (kind == PK_VALID) {
			s->expect = *ctr + inc;
			s->ctr = ctr;
		} else if (kind == PK_RO && inc == 0) {
			s->expect = *(unsigned long *)v;
		} else if (kind == PK_RO || !kind_readable(kind)) {
			s->expect = -EFAULT;
		} else {
			s->model = MK_ANY;
		}
		if (!arg(g, i, 0, v) || !arg(g, i, 1, inc))
			break;
		break;
	}
	case C_READ: case C_WRITE: case C_PREAD: case C_PWRITE: case C_TIMERFD_READ:
		fd = call == C_TIMERFD_READ ? c->timerfd : pick_fd(c, r, 1);
		len = call == C_TIMERFD_READ ? 8 : pick_len(r);
		if (g->nasty == 2 && chance(r, 30))
			len = rnd(r, 9);	/* small enough for the ring or an atom */
		a->nr = call == C_READ || call == C_TIMERFD_READ ? __NR_read :
			call == C_WRITE ? __NR_write : call == C_PREAD ? __NR_pread64 : __NR_pwrite64;
		s->model = MK_LEN;
		s->len = len;
		if (!arg(g, i, 0, fd) || !arg(g, i, 1, buf_arg(g, len < 65536 ? len : 65536, len <= 8)) ||
		    !arg(g, i, 2, len))
			break;
		if (call == C_PREAD || call == C_PWRITE)
			arg(g, i, 3, chance(r, 10) ? -1UL : 4096 * rnd(r, 64) + rnd(r, 2) * rnd(r, 4096));
		break;
	case C_LSEEK:
		a->nr = __NR_lseek;
		s->model = MK_NONNEG;
		if (arg(g, i, 0, pick_fd(c, r, 0)) && arg(g, i, 1, rnd(r, 3) ? rnd(r, 1 << 20) : rnd64(r)))
			arg(g, i, 2, rnd(r, 6));
		break;
	case C_FSTAT:
		a->nr = __NR_fstat;
		s->model = MK_NONNEG;
		if (arg(g, i, 0, pick_fd(c, r, 0)))
			arg(g, i, 1, buf_arg(g, 144, 0));
		break;
	case C_CLOSE_BAD:
		a->nr = __NR_close;
		s->model = MK_EXACT;
		s->expect = -EBADF;
		/* A descriptor no iteration has, from the read-only page: a
		 * pointer of another kind, or a result stored into an
		 * argument variable, would give it 0, 1, 2... and close one
		 * of the iteration's own (seed 7 iteration 203: fd 0, then
		 * "fdup(0, 0) = -EBADF" in a fork child). */
		arg_ro(g, i, 0, 11 + rnd(r, 4));
		break;
	case C_DUP:
		a->nr = __NR_dup;
		s->model = MK_LINEAR;
		arg(g, i, 0, pick_fd(c, r, 0));
		break;
	case C_FDUP:
		a->nr = __NR_fdup;
		s->model = MK_PRIVATE;
		if (arg(g, i, 0, pick_fd(c, r, 0)))
			arg(g, i, 1, chance(r, 85) ? 0 : 2UL << rnd(r, 31));	/* never FDUP_MOVE */
		if (s->model == MK_PRIVATE && a->arg_ptr[1] && *a->arg_ptr[1] > 1)
			s->model = MK_NONNEG;	/* -EINVAL, or -EBADF first */
		break;
	case C_DUP2NL:
		a->nr = chance(r, 50) ? __NR_dup2 : __NR_dup3;
		s->model = MK_PRIVATE;
		if (arg(g, i, 0, pick_fd(c, r, 0)) && arg(g, i, 1, NONLINEAR_FD) && a->nr == __NR_dup3)
			arg(g, i, 2, chance(r, 80) ? O_CLOEXEC : 0);
		break;
	case C_FCNTL: {
		static const int cmds[] = { F_GETFD, F_GETFL, F_DUPFD, F_DUPFD_CLOEXEC, 1234 };
		int cmd = cmds[rnd(r, 5)];

		a->nr = __NR_fcntl;
		s->model = cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC ? MK_LINEAR : MK_NONNEG;
		if (arg(g, i, 0, pick_fd(c, r, 0)) && arg(g, i, 1, cmd))
			arg(g, i, 2, 0);
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
			g->opened++;
		break;
	}
	case C_NANOSLEEP:
		a->nr = __NR_nanosleep;
		s->model = MK_SLEEP;
		arg_ro(g, i, 0, chance(r, 60) ? 3 : chance(r, 50) ? 4 : 5);
		arg_ro(g, i, 1, 0);
		break;
	case C_CLOCK_NANOSLEEP:
		a->nr = __NR_clock_nanosleep;
		s->model = MK_SLEEP;
		arg_ro(g, i, 0, 9);
		arg_ro(g, i, 1, 0);
		arg_ro(g, i, 2, chance(r, 70) ? 3 : 4);
		arg_ro(g, i, 3, 0);
		break;
	case C_FUTEX_WAIT:
		a->nr = __NR_futex;
		s->model = MK_FUTEX_WAIT;
		arg_ro(g, i, 0, 8);
		arg_ro(g, i, 1, 7);
		arg_ro(g, i, 2, 0);
		arg_ro(g, i, 3, 3);
		break;
	case C_FUTEX_WAKE:
		g->plain = 1;
		a->nr = __NR_futex;
		s->model = MK_NONNEG;
		if (arg(g, i, 0, (unsigned long)&c->counters[1]) && arg(g, i, 1, FUTEX_WAKE_PRIVATE))
			arg(g, i, 2, 1);
		break;
	case C_FUTEX_PI: {
		static const unsigned long pi[] = { FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI,
						    FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, 13 };

		a->nr = __NR_futex;
		s->model = MK_EXACT;
		s->expect = -EOPNOTSUPP;
		g->plain = 1;
		arg(g, i, 0, (unsigned long)&c->counters[2]);
		arg(g, i, 1, pi[rnd(r, 6)] | (chance(r, 50) ? FUTEX_PRIVATE_FLAG : 0));
		arg(g, i, 2, 0);
		arg(g, i, 3, 0);
		break;
	}
	case C_POLL: {
		struct pollfd *p = (struct pollfd *)data_buf(c, r, 2 * sizeof(*p));

		p[0] = (struct pollfd){ .fd = c->nb_pipe[0], .events = POLLIN };
		p[1] = (struct pollfd){ .fd = pick_fd(c, r, 0), .events = POLLOUT };
		a->nr = __NR_poll;
		s->model = MK_NONNEG;
		arg(g, i, 0, (unsigned long)p);
		arg(g, i, 1, 1 + rnd(r, 2));
		arg_ro(g, i, 2, 10);
		break;
	}
	case C_GETRANDOM:
		len = g->nasty == 2 && chance(r, 50) ? rnd(r, 9) : rnd(r, 300);
		a->nr = __NR_getrandom;
		s->model = MK_LEN;
		s->len = len;
		if (arg(g, i, 0, buf_arg(g, len, len <= 8)) && arg(g, i, 1, len))
			arg(g, i, 2, chance(r, 80) ? 0 : 1 /* GRND_NONBLOCK */);
		break;
	case C_OPEN_NL:
		a->nr = __NR_openat;
		s->model = MK_PRIVATE;
		arg(g, i, 0, (unsigned long)AT_FDCWD);
		arg(g, i, 1, (unsigned long)(c->ro + 3584 + (chance(r, 80) ? 0 : 16)));
		arg(g, i, 2, O_RDWR | O_NONLINEAR | (chance(r, 50) ? O_CLOEXEC : 0));
		break;
	case C_MEMFD_NL:
		a->nr = __NR_memfd_create;
		s->model = MK_PRIVATE;
		arg(g, i, 0, (unsigned long)(c->ro + 3584 + 32));
		arg(g, i, 1, MFD_NONLINEAR | (chance(r, 50) ? MFD_CLOEXEC : 0));
		break;
	case C_PIPE2_NL:
		a->nr = __NR_pipe2;
		s->model = MK_NONNEG;
		arg(g, i, 0, buf_arg(g, 8, 1));
		arg(g, i, 1, O_NONLINEAR | O_NONBLOCK);
		break;
	case C_UNAME:
		a->nr = __NR_uname;
		s->model = MK_NONNEG;
		arg(g, i, 0, buf_arg(g, 390, 0));
		break;
	case C_REFUSED:
		a->nr = refused_nrs[rnd(r, n_refused)];
		s->model = MK_EXACT;
		s->expect = -EOPNOTSUPP;
		/* six zero arguments: harmless even if one ran (it must not) */
		for (int k = 0; k < 6; k++)
			if (!arg(g, i, k, 0))
				break;
		if (s->model == MK_ANY) {	/* a bad arg pointer: -EFAULT first */
			s->model = MK_EXACT;
		}
		break;
	case C_UNKNOWN:
		a->nr = unknown_nr(r);
		s->model = MK_EXACT;
		s->expect = -ENOSYS;
		for (int k = 0; k < (int)rnd(r, 7); k++)
			if (!arg(g, i, k, rnd64(r)))
				break;
		s->model = MK_EXACT;
		break;
	}
	g->plain = 0;
	cov(c, "atom.nr:%s", nr_name(a->nr));
}

static unsigned long gen_flags(struct gen *g, int i)
{
	struct rng *r = g->r;
	struct atomspec *s = &g->ch->spec[i];
	unsigned long f = 0;
	int det = deterministic(s->call) || s->model == MK_EXACT;

	if (g->nasty == 2 && chance(r, 50))
		return rnd(r, 256) | (chance(r, 20) ? 1UL << (8 + rnd(r, 56)) : 0);
	if (chance(r, det ? 35 : 8))
		f |= (unsigned long[]){ SYSLET_STOP_ON_NONZERO, SYSLET_STOP_ON_ZERO,
					SYSLET_STOP_ON_NEGATIVE, SYSLET_STOP_ON_NON_POSITIVE,
					SYSLET_STOP_ON_ZERO | SYSLET_STOP_ON_NEGATIVE,
					SYSLET_STOP_MASK }[rnd(r, 6)];
	if (f && chance(r, 50))
		f |= SYSLET_SKIP_TO_NEXT_ON_STOP;
	if (!f && chance(r, 3))
		f |= SYSLET_SKIP_TO_NEXT_ON_STOP;	/* without a stop condition: no effect */
	if (chance(r, 6))
		f |= SYSLET_NO_COMPLETE;
	if (chance(r, 8))
		f |= SYSLET_SYNC;
	else if (chance(r, 5))
		f |= SYSLET_ASYNC;
	if (g->nasty && chance(r, 4))
		f |= SYSLET_ASYNC | SYSLET_SYNC;	/* -EINVAL */
	if (g->nasty && chance(r, 4))
		f |= 1UL << (8 + rnd(r, 56));		/* unknown bit: -EINVAL */
	return f;
}

/* ret_ptr of atom i. */
static void gen_ret(struct gen *g, int i, int loop_atoms)
{
	struct ctx *c = g->c;
	struct rng *r = g->r;
	struct chainrec *ch = g->ch;
	struct syslet_uatom *a = &ch->a[i];
	struct atomspec *s = &ch->spec[i];
	int kind = PK_VALID;

	if (chance(r, 8))
		kind = PK_NULL;
	if (g->nasty && chance(r, 10))
		kind = pick_bad_kind(r);
	if (g->nasty == 2 && chance(r, 15))
		kind = chance(r, 40) ? PK_RING : chance(r, 50) ? PK_ATOM : PK_ARGS;
	s->ret_kind = kind;
	if (kind == PK_VALID && g->nasty && chance(r, 8) && i > 0 && ch->spec[i - 1].ret_kind == PK_VALID &&
	    !ch->spec[i - 1].self_mod) {	/* (an atom storing into its own fields: the oracle reads them after) */
		a->ret_ptr = ch->a[i - 1].ret_ptr;	/* shared with the atom before */
		s->ret_shared = ch->spec[i - 1].ret_shared = 1;
		cov(c, "ptr:ret_ptr:shared-slot");
		return;
	}
	if (kind == PK_VALID && g->nasty == 1 && !loop_atoms && i + 1 < ch->n && chance(r, 6)) {
		/* Into a later atom of this chain: its next, flags or first
		 * argument pointer becomes this atom's result. */
		int j = i + 1 + rnd(r, ch->n - i - 1), f = rnd(r, 3);

		if (f == 2 && ch->a[j].nr == __NR_close)
			f = rnd(r, 2);	/* its fd must stay one nobody has */

		if (!ch->spec[j].self_mod) {
			a->ret_ptr = f == 0 ? (long *)&ch->a[j].next : f == 1 ?
				     (long *)&ch->a[j].flags : (long *)&ch->a[j].arg_ptr[0];
			s->self_mod = 1;
			ch->spec[j].self_mod = 2;	/* target */
			ch->self_mod = 1;
			cov(c, "ptr:ret_ptr:into-own-later-atom");
			return;
		}
	}
	cov(c, "ptr:ret_ptr:%s", ptr_kind_name[kind]);
	if (kind == PK_VALID) {
		a->ret_ptr = ret_slot(c);
		*a->ret_ptr = POISON;
	} else {
		a->ret_ptr = ptr_kind(c, r, kind, 8);
	}
}

/* A loop: atoms lo..hi run again and again; hi counts a counter down
 * with umem_add and leaves when it reaches zero (or below). */
static void gen_loop(struct gen *g, int lo, int hi)
{
	struct ctx *c = g->c;
	struct rng *r = g->r;
	struct chainrec *ch = g->ch;
	struct syslet_uatom *a = &ch->a[hi];
	unsigned long *ctr;
	static const unsigned long how[] = {
		SYSLET_STOP_ON_NON_POSITIVE, SYSLET_STOP_ON_ZERO | SYSLET_STOP_ON_NEGATIVE,
		SYSLET_STOP_ON_NON_POSITIVE | SYSLET_SKIP_TO_NEXT_ON_STOP,
		SYSLET_STOP_ON_ZERO,
	};

	if (c->counter_next >= 500)
		c->counter_next = 8;
	ctr = &c->counters[c->counter_next++];
	*ctr = 1 + rnd(r, chance(r, 20) ? 64 : 6);
	memset(a, 0, sizeof(*a));
	a->nr = __NR_umem_add;
	a->arg_ptr[0] = val_slot(c, (unsigned long)ctr);
	a->arg_ptr[1] = val_slot(c, -1UL);
	/* A bare STOP_ON_ZERO loop is only safe when nothing re-enters it,
	 * and when umem_add works: under a seccomp filter that denies it
	 * the counter never moves, and only a non-positive stop ends it. */
	a->flags = how[rnd(r, g->nasty || c->deny_errno[__NR_umem_add] ? 3 : 4)];
	a->next = &ch->a[lo];
	ch->spec[hi] = (struct atomspec){ .call = C_UMEM, .model = MK_CTR, .ctr = ctr };
	for (int i = lo; i <= hi; i++)
		ch->spec[i].loop_body = 1;
	ch->loop = 1;
	cov(c, "chain:loop:%s", lo == hi ? "self" : "multi-atom");
	cov(c, "chain:loop-flags:0x%02lx", a->flags);
}

/* A chain in fresh atoms. mode 0: random; 1: with loops; 2: wild. */
struct chainrec *build_chain(struct ctx *c, struct rng *r, int mode)
{
	struct chainrec *ch = calloc(1, sizeof(*ch));
	struct gen g = { c, r, ch, 0, 0 };
	int n, i, lo = -1, hi = -1;

	if (!ch)
		return NULL;
	g.nasty = mode == 2 ? 2 : chance(r, 35) ? 1 : 0;
	n = 1 + rnd(r, chance(r, 10) ? FZ_MAXL : 8);
	if (mode == 1 && n < 3)
		n = 3;
	ch->n = n;
	ch->a = atom_alloc(c, n);
	if (!ch->a) {
		free(ch);
		return NULL;
	}
	if (mode == 1 || (mode == 0 && chance(r, 10))) {
		hi = rnd(r, n);
		lo = rnd(r, hi + 1);
	}
	for (i = 0; i < n; i++) {
		int in_loop = i >= lo && i <= hi;

		gen_call(&g, i, pick_call(r, in_loop && g.nasty < 2));
		if (in_loop && blocking(ch->spec[i].call))
			gen_call(&g, i, C_GETPID);
	}
	ch->spec[n] = (struct atomspec){ .call = C_GETPID, .model = MK_EXACT, .ret_kind = PK_NULL };
	if (chance(r, 30)) {
		/* at least one atom that blocks: the chain may go asynchronous */
		i = rnd(r, n);
		if (i < lo || i > hi) {
			memset(&ch->a[i], 0, sizeof(ch->a[i]));
			gen_call(&g, i, (int[]){ C_NANOSLEEP, C_CLOCK_NANOSLEEP, C_FUTEX_WAIT,
						 C_POLL, C_TIMERFD_READ }[rnd(r, 5)]);
		}
	}
	for (i = 0; i < n; i++) {
		ch->a[i].flags = gen_flags(&g, i);
		ch->a[i].next = i + 1 < n ? &ch->a[i + 1] : NULL;
		ch->a[i].private = (void *)(long)i;
	}
	if (hi >= 0)
		gen_loop(&g, lo, hi);
	for (i = 0; i < n; i++) {
		if (i == hi)
			continue;
		gen_ret(&g, i, hi >= 0);
		cov(c, "atom.flags:0x%02lx", ch->a[i].flags & 0xff);
		if (ch->a[i].flags & ~0xffUL)
			cov(c, "atom.flags:unknown-bits");
		ch->nocomplete_any |= !!(ch->a[i].flags & SYSLET_NO_COMPLETE);
	}
	if (hi >= 0) {
		ch->a[hi].ret_ptr = chance(r, 80) ? ret_slot(c) : NULL;
		if (ch->a[hi].ret_ptr)
			*ch->a[hi].ret_ptr = POISON;
		ch->spec[hi].ret_kind = ch->a[hi].ret_ptr ? PK_VALID : PK_NULL;
	}
	/* One stray next pointer. */
	if (g.nasty && chance(r, 30)) {
		i = rnd(r, n);
		if (i < lo || i > hi) {
			int k = rnd(r, 4);
			int kind = k == 0 ? pick_bad_kind(r) : k == 1 ? PK_STRADDLE : PK_RO;

			if (k == 3)
				ch->a[i].next = NULL;
			else if (kind == PK_RO)
				ch->a[i].next = c->ro_atom;
			else
				ch->a[i].next = ptr_kind(c, r, kind, sizeof(struct syslet_uatom));
			ch->stray = ch->a[i].next;
			cov(c, "ptr:next:%s", k == 3 ? "null-early" : kind == PK_RO ?
			    "read-only-atom" : ptr_kind_name[kind]);
		}
	}
	ch->strict = g.nasty < 2;
	return ch;
}
