/* SPDX-License-Identifier: GPL-2.0 */
/* Chains: what fz-chain.c builds and fz-ring.c reaps. */
#ifndef SYSLET_FUZZ_CHAIN_H
#define SYSLET_FUZZ_CHAIN_H
#include "fuzz.h"

#define FZ_MAXL		40

/* The calls an atom makes. */
enum {
	C_GETPID, C_GETPPID, C_GETTID, C_GETUID, C_YIELD, C_UMEM, C_READ, C_WRITE,
	C_PREAD, C_PWRITE, C_LSEEK, C_FSTAT, C_CLOSE_BAD, C_DUP, C_FDUP, C_DUP2NL,
	C_FCNTL, C_NANOSLEEP, C_CLOCK_NANOSLEEP, C_FUTEX_WAIT, C_FUTEX_WAKE, C_FUTEX_PI,
	C_POLL, C_TIMERFD_READ, C_GETRANDOM, C_OPEN_NL, C_MEMFD_NL, C_PIPE2_NL, C_UNAME,
	C_REFUSED, C_UNKNOWN, C_NCALLS
};

/* What the kernel reads of an atom: all but `private`. */
#define ATOM_READ	80
#define POISON		0x5a5a5a5a5a5a5a5aL

/* What the oracle knows about an atom's result. */
enum model {
	MK_ANY,		/* the generic rules only */
	MK_EXACT,	/* exactly `expect` */
	MK_POS,		/* > 0 */
	MK_LEN,		/* 0..len, or -errno */
	MK_PRIVATE,	/* a private fd, or -errno */
	MK_LINEAR,	/* a linear fd, or -errno */
	MK_SLEEP,	/* 0 or -EINTR */
	MK_FUTEX_WAIT,	/* -ETIMEDOUT, -EAGAIN, -EINTR or 0 */
	MK_CTR,		/* umem_add on a loop counter: the simulation computes it */
	MK_NONNEG,	/* >= 0 or -errno */
};

struct atomspec {
	int call;		/* C_* of fz-chain.c */
	int model;
	long expect;
	unsigned long len;	/* MK_LEN */
	int ret_kind;		/* PK_* of ret_ptr; PK_VALID = a slot of its own */
	int ret_shared;		/* the slot is written by other atoms too */
	int self_mod;		/* ret_ptr points into a later atom of the chain */
	unsigned long *ctr;	/* MK_CTR: the counter */
	int loop_body;
};

struct chainrec {
	struct syslet_uatom *a;	/* a[0..n-1], a[n] the spare */
	int n;
	struct syslet_uatom *first;
	int first_kind;		/* PK_* */
	struct head *h;		/* NULL: not a trackable head */
	struct async_head_user *ahu;
	int head_err;		/* the head is known to give this errno */
	struct atomspec spec[FZ_MAXL + 1];
	unsigned long ctr0[FZ_MAXL + 1];	/* counters' values at submission */
	int strict;		/* the oracle may judge every result */
	int loop;
	int mutated;
	int self_mod;
	int seccomp;		/* submitted under seccomp: runs inline */
	int in_thread;		/* submitted by a helper thread */
	int nocomplete_any;
	void *stray;		/* a next pointer out of the chain (it may end there) */
	unsigned atoms_wgen;
	unsigned ident_gen;	/* the process's identity generation at submission */
	long ret;		/* what async_exec() returned (-errno on error) */
	double t_submit;
	int completions;
	long uid;		/* getuid() as of submission */
	unsigned short deny[1024];	/* seccomp's errno per number, as of submission */
	long pid, ppid;
};

enum { SIM_END = 1, SIM_ERR, SIM_ASYNC, SIM_UNKNOWN };

extern const unsigned long refused_nrs[];
extern const int n_refused;

/* fz-chain.c */
struct chainrec *build_chain(struct ctx *c, struct rng *r, int mode);
void dump_chain(struct ctx *c, struct chainrec *ch);
int sim_chain(struct ctx *c, struct chainrec *ch, struct syslet_uatom **end, int *err, int final);
/* fz-submit.c */
long submit(struct ctx *c, struct rng *r, struct chainrec *ch, int geometry);
/* fz-ring.c */
void inflight_add(struct ctx *c, struct chainrec *ch);
int addr_readable(struct ctx *c, const void *p, size_t len);

#endif
