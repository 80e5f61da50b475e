// SPDX-License-Identifier: GPL-2.0
/*
 * The oracle: what the engine must have done with a chain, from
 * Documentation/syslets.md (and syslet/engine.rs, syslet/abi.rs,
 * syslet/chain.rs, which it mirrors): the order of the checks (the atom's
 * flags when it is read, a cancellation after an identity change,
 * SYSLET_ASYNC, its arguments, the call, the result's store, the stop
 * conditions, next or atom + 1), and a model of each call's result.
 */
#include "fz-chain.h"

/* syslet/policy.rs's list (a subset is enough: these must all be refused). */
const unsigned long refused_nrs[] = {
	14, 15, 34, 56, 57, 58, 59, 60, 101, 105, 106, 113, 114, 116, 117, 119,
	122, 123, 126, 128, 130, 131, 135, 141, 142, 144, 157, 158, 172, 203, 218,
	219, 231, 238, 248, 249, 250, 251, 272, 273, 308, 314, 317, 322, 334, 335,
	425, 426, 427, 435, 446, 600, 601, 603, 604,
};
const int n_refused = sizeof(refused_nrs) / sizeof(refused_nrs[0]);

int nr_refused(unsigned long nr)
{
	for (int i = 0; i < n_refused; i++)
		if (refused_nrs[i] == nr)
			return 1;
	return 0;
}

/* Not an x86-64 system call of 6.12 + this project: -ENOSYS. */
int nr_unknown(unsigned long nr)
{
	return nr >= 1024 || (nr >= 463 && nr < 600) || nr >= 606;
}

const char *nr_name(unsigned long nr)
{
	static const struct { unsigned long nr; const char *name; } names[] = {
		{ 0, "read" }, { 1, "write" }, { 3, "close" }, { 5, "fstat" }, { 7, "poll" },
		{ 8, "lseek" }, { 14, "rt_sigprocmask" }, { 15, "rt_sigreturn" },
		{ 17, "pread64" }, { 18, "pwrite64" }, { 24, "sched_yield" }, { 28, "madvise" },
		{ 32, "dup" }, { 33, "dup2" }, { 34, "pause" }, { 35, "nanosleep" },
		{ 39, "getpid" }, { 56, "clone" }, { 57, "fork" }, { 58, "vfork" },
		{ 59, "execve" }, { 60, "exit" }, { 63, "uname" }, { 72, "fcntl" },
		{ 101, "ptrace" }, { 102, "getuid" }, { 105, "setuid" }, { 106, "setgid" },
		{ 110, "getppid" }, { 113, "setreuid" }, { 114, "setregid" }, { 116, "setgroups" },
		{ 117, "setresuid" }, { 119, "setresgid" }, { 122, "setfsuid" }, { 123, "setfsgid" },
		{ 126, "capset" }, { 128, "rt_sigtimedwait" }, { 130, "rt_sigsuspend" },
		{ 131, "sigaltstack" }, { 135, "personality" }, { 141, "setpriority" },
		{ 142, "sched_setparam" }, { 144, "sched_setscheduler" }, { 157, "prctl" },
		{ 158, "arch_prctl" }, { 172, "iopl" }, { 186, "gettid" }, { 202, "futex" },
		{ 203, "sched_setaffinity" }, { 206, "io_setup" }, { 209, "io_submit" },
		{ 218, "set_tid_address" }, { 219, "restart_syscall" }, { 230, "clock_nanosleep" },
		{ 231, "exit_group" }, { 238, "set_mempolicy" }, { 248, "add_key" },
		{ 249, "request_key" }, { 250, "keyctl" }, { 251, "ioprio_set" },
		{ 257, "openat" }, { 272, "unshare" }, { 273, "set_robust_list" },
		{ 292, "dup3" }, { 293, "pipe2" }, { 308, "setns" }, { 314, "sched_setattr" },
		{ 317, "seccomp" }, { 318, "getrandom" }, { 319, "memfd_create" },
		{ 322, "execveat" }, { 334, "rseq" }, { 335, "uretprobe" },
		{ 425, "io_uring_setup" }, { 426, "io_uring_enter" }, { 427, "io_uring_register" },
		{ 435, "clone3" }, { 436, "close_range" }, { 446, "landlock_restrict_self" },
		{ 600, "async_exec" }, { 601, "async_wait" }, { 602, "umem_add" },
		{ 603, "threadlet_on" }, { 604, "threadlet_off" }, { 605, "fdup" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == nr)
			return names[i].name;
	if (nr >= 1024) {
		if ((nr & 0x40000000UL) && nr < 0x40000000UL + 1024)
			return "unknown:x32-bit";
		return "unknown:>=1024";
	}
	if (nr >= 512 && nr <= 547)
		return "unknown:x32-range";
	if (nr_unknown(nr))
		return "unknown:gap";
	return "other";
}

static const char *model_name(int m)
{
	static const char *const n[] = { "any", "exact", "pos", "len", "private", "linear",
					 "sleep", "futex-wait", "counter", "nonneg" };
	return m >= 0 && m <= MK_NONNEG ? n[m] : "?";
}

/* Judges result v of atom i (which ran). Returns 0 or fails. */
static int judge(struct ctx *c, struct chainrec *ch, int i, const struct syslet_uatom *a, long v,
		 long expect_ctr)
{
	struct atomspec *s = &ch->spec[i];
	unsigned long nr = a->nr;
	int m = s->model;

	check(c);
	if (v >= -516 && v <= -512)
		return fail(c, "atom %d (%s) stored the kernel-internal restart code %ld", i,
			    nr_name(nr), v), -1;
	if (nr_refused(nr)) {
		if (v != -EOPNOTSUPP)
			return fail(c, "refused call %s (nr %lu) in atom %d gave %ld, not -EOPNOTSUPP",
				    nr_name(nr), nr, i, v), -1;
		return 0;
	}
	if (nr >= 1024 || nr_unknown(nr)) {
		if (v != -ENOSYS)
			return fail(c, "unknown number %#lx in atom %d gave %ld, not -ENOSYS", nr, i, v), -1;
		return 0;
	}
	if (ch->seccomp && ch->deny[nr]) {
		if (v != -(long)ch->deny[nr])
			return fail(c, "seccomp denies %s with errno %d, atom %d gave %ld",
				    nr_name(nr), ch->deny[nr], i, v), -1;
		return 0;
	}
	/* (umem_add and lseek return any 64-bit value) */
	if (v < -4095 && m != MK_EXACT && m != MK_CTR && s->call != C_LSEEK && s->call != C_UMEM)
		return fail(c, "atom %d (%s) returned %ld: below -4095", i, nr_name(nr), v), -1;
	switch (m) {
	case MK_EXACT:
		if (s->call == C_GETPID && v != ch->pid)
			return fail(c, "getpid atom %d gave %ld, getpid() is %ld", i, v, ch->pid), -1;
		if (s->call == C_GETPPID && v != ch->ppid)
			return fail(c, "getppid atom %d gave %ld, getppid() is %ld", i, v, ch->ppid), -1;
		if (s->call == C_GETUID && v != ch->uid)
			return fail(c, "getuid atom %d gave %ld, the submitter's uid was %ld", i, v, ch->uid), -1;
		if (s->call != C_GETPID && s->call != C_GETPPID && s->call != C_GETUID &&
		    v != s->expect)
			return fail(c, "atom %d (%s) gave %ld, expected %ld", i, nr_name(nr), v, s->expect), -1;
		break;
	case MK_CTR:
		if (v != expect_ctr)
			return fail(c, "loop counter atom %d gave %ld, expected %ld", i, v, expect_ctr), -1;
		break;
	case MK_POS:
		if (v <= 0)
			return fail(c, "atom %d (%s) gave %ld, expected > 0", i, nr_name(nr), v), -1;
		break;
	case MK_LEN:
		if (v > 0 && (unsigned long)v > s->len)
			return fail(c, "atom %d (%s) gave %ld for a length of %lu", i, nr_name(nr), v, s->len), -1;
		break;
	case MK_PRIVATE:
		if (v >= 0 && (!is_private(v)))
			return fail(c, "atom %d (%s) gave fd %#lx, not a private one", i, nr_name(nr), v), -1;
		break;
	case MK_LINEAR:
		if (v >= 0 && (v & NONLINEAR_FD))
			return fail(c, "atom %d (%s) gave fd %#lx: the lowest-free calls must stay linear",
				    i, nr_name(nr), v), -1;
		break;
	case MK_SLEEP:
		if (v != 0 && v != -EINTR)
			return fail(c, "sleep atom %d gave %ld, expected 0 or -EINTR", i, v), -1;
		break;
	case MK_FUTEX_WAIT:
		if (v != 0 && v != -ETIMEDOUT && v != -EAGAIN && v != -EINTR)
			return fail(c, "futex wait atom %d gave %ld", i, v), -1;
		break;
	}
	if (m != MK_EXACT && m != MK_CTR && m != MK_ANY && (v == -ENOSYS || v == -EOPNOTSUPP) &&
	    s->call != C_LSEEK && s->call != C_READ && s->call != C_WRITE &&
	    s->call != C_PREAD && s->call != C_PWRITE && s->call != C_FCNTL)
		return fail(c, "atom %d (%s, an allowed call) gave %ld", i, nr_name(nr), v), -1;
	return 0;
}

int addr_readable(struct ctx *c, const void *p, size_t len)
{
	/* integers: pointer arithmetic that wraps is undefined, and the
	 * compiler would drop the wrap test */
	uintptr_t q = (uintptr_t)p;

	if (q + len < q)
		return 0;
	for (int i = 0; i < c->nareas; i++) {
		uintptr_t b = (uintptr_t)c->areas[i].p;

		if (q >= b && q + len <= b + c->areas[i].len)
			return 1;
	}
	return 0;
}

static int atom_index(struct chainrec *ch, const struct syslet_uatom *a)
{
	uintptr_t off = (uintptr_t)a - (uintptr_t)ch->a;

	if ((uintptr_t)a < (uintptr_t)ch->a || off % sizeof(*a) || off / sizeof(*a) > (uintptr_t)ch->n)
		return -1;
	return off / sizeof(*a);
}

/*
 * Walks the chain as the engine must have, with the results it stored.
 * SIM_END: it stops at *end; SIM_ERR: async_exec() fails with *err at atom
 * *end; SIM_ASYNC: it reaches a SYSLET_ASYNC atom at *end (so it went
 * asynchronous, or -EAGAIN); SIM_UNKNOWN: the oracle cannot tell (a result
 * it needs was not stored, a pointer it cannot follow). Judges every
 * result on the way; checks atoms it never reached did not store one.
 * `async`: the chain went asynchronous, its SYSLET_ASYNC atoms ran.
 */
int sim_chain(struct ctx *c, struct chainrec *ch, struct syslet_uatom **end, int *err, int async)
{
	const struct syslet_uatom *a = ch->first, *prev = NULL;
	unsigned long ctr[FZ_MAXL + 1];
	long last_ctr[FZ_MAXL + 1];
	unsigned char seen[FZ_MAXL + 1] = { 0 };
	long steps = 0;
	int i, res = SIM_UNKNOWN, cancelled = 0;
	/* After an identity change a detached chain may stop with -ECANCELED
	 * before any atom; loop counters then say less. */
	int changed = async && ch->ident_gen != c->ident_gen;

	*err = 0;
	for (i = 0; i <= ch->n; i++)
		ctr[i] = ch->ctr0[i];
	for (;;) {
		long v;
		int stop, k, have_v;

		if (++steps > 200000)
			break;
		*end = (struct syslet_uatom *)a;
		if (a == c->ro_atom) {
			/* getppid, ret to a shared slot, next NULL */
			res = a->flags ? SIM_UNKNOWN : SIM_END;
			break;
		}
		i = atom_index(ch, a);
		if (i < 0) {
			/* the kernel reads an atom's first 80 bytes (not `private`) */
			if (!addr_readable(c, a, ATOM_READ)) {
				*err = EFAULT;
				*end = (struct syslet_uatom *)prev;
				res = SIM_ERR;
			} else if (a->flags & ~0xffUL) {
				*err = EINVAL;	/* e.g. the 0xa5 pattern of the straddle page */
				res = SIM_ERR;
			}
			break;
		}
		if (a->flags & ~0xffUL ||
		    (a->flags & (SYSLET_ASYNC | SYSLET_SYNC)) == (SYSLET_ASYNC | SYSLET_SYNC)) {
			*err = EINVAL;
			res = SIM_ERR;
			break;
		}
		if (async && changed && a->ret_ptr && addr_readable(c, a->ret_ptr, 8) &&
		    *a->ret_ptr == -ECANCELED && ch->spec[i].ret_kind == PK_VALID &&
		    !ch->spec[i].ret_shared) {
			/* Documentation/syslets.md: the atom did not run, the
			 * chain ends there and it is the completion posted. */
			cov(c, "chain:cancelled-after-identity-change");
			seen[i] = 1;
			cancelled = 1;
			res = SIM_END;
			break;
		}
		if ((a->flags & SYSLET_ASYNC) && !async) {
			if (ch->seccomp) {
				*err = EOPNOTSUPP;
				res = SIM_ERR;
			} else {
				res = SIM_ASYNC;
			}
			break;
		}
		/* syslet/invoke.rs: a number of 1024 or more and a refused
		 * call are answered before the arguments are looked at */
		for (k = 0; k < 6 && a->arg_ptr[k] && a->nr < 1024 && !nr_refused(a->nr); k++)
			if (!addr_readable(c, a->arg_ptr[k], 8))
				break;
		if (k < 6 && a->arg_ptr[k] && a->nr < 1024 && !nr_refused(a->nr)) {
			*err = EFAULT;
			res = SIM_ERR;
			break;
		}
		/* It ran (or, detached after an identity change, was cancelled). */
		seen[i] = 1;
		have_v = 1;
		v = 0;
		if (ch->spec[i].model == MK_CTR && ch->seccomp && ch->deny[__NR_umem_add]) {
			v = -(long)ch->deny[__NR_umem_add];	/* denied: the counter stays */
			last_ctr[i] = v;
		} else if (ch->spec[i].model == MK_CTR) {
			ctr[i] = ctr[i] - 1;
			v = (long)ctr[i];
			last_ctr[i] = v;
		} else if (a->ret_ptr && addr_readable(c, a->ret_ptr, 8) &&
			   !ch->spec[i].ret_shared && ch->spec[i].ret_kind == PK_VALID) {
			v = *a->ret_ptr;
			if (v == POISON && changed)
				break;	/* cancelled before it, where no slot could say */
			if (v == POISON && !ch->spec[i].self_mod && i < ch->n) {
				fail(c, "atom %d ran (the chain went on past it) but stored no result", i);
				return SIM_UNKNOWN;
			}
		} else if (ch->spec[i].model == MK_EXACT && ch->spec[i].call != C_GETPID &&
			   ch->spec[i].call != C_GETPPID && ch->spec[i].call != C_GETUID &&
			   !(ch->seccomp && a->nr < 1024 && ch->deny[a->nr]) &&
			   !ch->spec[i].self_mod && !changed) {
			v = ch->spec[i].expect;
		} else if (ch->spec[i].call == C_GETPID && !ch->seccomp && !ch->spec[i].self_mod &&
			   !changed) {
			v = ch->pid;
		} else if (!(a->flags & SYSLET_STOP_MASK)) {
			have_v = 0;	/* not needed */
		} else {
			break;	/* a result the oracle cannot know decides */
		}
		if (have_v && ch->strict && !ch->spec[i].self_mod && i < ch->n &&
		    judge(c, ch, i, a, v, v))
			return SIM_UNKNOWN;
		if (a->ret_ptr && (!addr_readable(c, a->ret_ptr, 8) || ch->spec[i].ret_kind == PK_RO)) {
			*err = EFAULT;	/* the result could not be stored */
			res = SIM_ERR;
			break;
		}
		stop = have_v &&
		       (((a->flags & SYSLET_STOP_ON_NONZERO) && v != 0) ||
			((a->flags & SYSLET_STOP_ON_ZERO) && v == 0) ||
			((a->flags & SYSLET_STOP_ON_NEGATIVE) && v < 0) ||
			((a->flags & SYSLET_STOP_ON_NON_POSITIVE) && v <= 0));
		if (stop) {
			cov(c, "chain:stop-condition-met%s",
			    a->flags & SYSLET_SKIP_TO_NEXT_ON_STOP ? ":skip" : "");
			if (!(a->flags & SYSLET_SKIP_TO_NEXT_ON_STOP)) {
				res = SIM_END;
				break;
			}
			prev = a;
			a = a + 1;
			continue;
		}
		if (!a->next) {
			res = SIM_END;
			break;
		}
		prev = a;
		a = a->next;
	}
	if (res == SIM_UNKNOWN)
		return res;
	__atomic_add_fetch(&c->slot->atoms, steps, __ATOMIC_RELAXED);
	if (res == SIM_ASYNC)
		return res;	/* the rest ran (or runs) asynchronously */
	/* Atoms never reached stored nothing. */
	if (ch->strict && !changed)
		for (i = 0; i < ch->n; i++) {
			if (seen[i] || ch->spec[i].ret_kind != PK_VALID || ch->spec[i].ret_shared ||
			    ch->spec[i].self_mod || !ch->a[i].ret_ptr || ch->spec[i].model == MK_CTR)
				continue;
			check(c);
			if (*ch->a[i].ret_ptr != POISON) {
				fail(c, "atom %d was never reached but its result slot holds %ld",
				     i, *ch->a[i].ret_ptr);
				return SIM_UNKNOWN;
			}
		}
	/* Loop counters: the counter and the last result match the model. */
	for (i = 0; i < ch->n && !changed && !cancelled; i++)
		if (ch->spec[i].model == MK_CTR && seen[i]) {
			check(c);
			if (*ch->spec[i].ctr != ctr[i]) {
				fail(c, "loop counter of atom %d is %lu, the chain should have left %lu",
				     i, *ch->spec[i].ctr, ctr[i]);
				return SIM_UNKNOWN;
			}
			if (ch->a[i].ret_ptr && *ch->a[i].ret_ptr != last_ctr[i]) {
				fail(c, "loop atom %d stored %ld, its last result was %ld",
				     i, *ch->a[i].ret_ptr, last_ctr[i]);
				return SIM_UNKNOWN;
			}
		}
	return res;
}

void dump_chain(struct ctx *c, struct chainrec *ch)
{
	for (int i = 0; i <= ch->n; i++) {
		struct syslet_uatom *a = &ch->a[i];

		flog(c, "   a[%d]%s flags=%#lx nr=%lu(%s) ret=%p%s next=%p args=%p,%p,%p model=%s",
		     i, i == ch->n ? "(spare)" : "", a->flags, a->nr, nr_name(a->nr),
		     (void *)a->ret_ptr, ch->spec[i].ret_shared ? "(shared)" : "",
		     (void *)a->next, (void *)a->arg_ptr[0], (void *)a->arg_ptr[1],
		     (void *)a->arg_ptr[2], model_name(ch->spec[i].model));
	}
}
