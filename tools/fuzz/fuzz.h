/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syslet-fuzz: shared declarations (tools/fuzz/README in
 * Documentation/testing.md, "make fuzz").
 *
 * Process model: the supervisor (syslet-fuzz.c) forks one process per
 * iteration; an iteration (fz-iter.c) runs a sequence of operations drawn
 * from a PRNG seeded by (SEED, ITER, op index), so that any iteration can
 * be replayed alone (--replay SEED:ITER) and any op left out (--only).
 * An iteration talks to the supervisor only through its slot, a
 * MAP_SHARED page range: its log, its failure text, counters, coverage.
 */
#ifndef SYSLET_FUZZ_H
#define SYSLET_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/syslet.h>
#include <linux/fdspace.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE	(1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

/* ---- limits ------------------------------------------------------------ */
#define FZ_MAX_SLOTS	32
#define FZ_LOG_LINES	192
#define FZ_LOG_LEN	200
#define FZ_COV_SLOT	4096	/* coverage entries per slot */
#define FZ_COV_KEY	56
#define FZ_FAIL_LEN	1024
#define FZ_MAX_ONLY	64

/* Exit codes of an iteration process. */
enum {
	FZ_EXIT_OK = 0,
	FZ_EXIT_VIOLATION = 40,	/* an invariant failed: slot->fail */
	FZ_EXIT_HANG = 41,	/* the in-process watchdog saw an op hang */
	FZ_EXIT_LOOPED = 42,	/* an op that may legitimately not end ran out of time */
	FZ_EXIT_SETUP = 43,	/* the iteration could not set itself up */
	FZ_EXIT_PROBE_BAD = 44,	/* --exec-probe found a private fd open */
	FZ_EXIT_LIBC_EXIT = 45,	/* glibc's exit() ran in the iteration process */
	/* thread exits (SYS_exit) of fz-thl.c's raw threadlet threads: a
	 * process that ends with one of these ended while other threads of
	 * it were still running */
	FZ_EXIT_RAW_THREAD = 75,
};
#define FZ_EXIT_SPARE_THREAD 76	/* (a number: used in assembly) */

/* ---- PRNG (splitmix64: tiny, and every stream is a pure function of its seed) */
struct rng {
	uint64_t s;
};

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t seed_of(uint64_t a, uint64_t b)
{
	return mix64(a * 0x9e3779b97f4a7c15ULL + mix64(b + 0x632be59bd9b4e019ULL));
}

static inline uint64_t rnd64(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

/* Uniform in [0, n); n == 0 gives 0. */
static inline uint64_t rnd(struct rng *r, uint64_t n)
{
	return n ? rnd64(r) % n : 0;
}

/* True with probability pct/100. */
static inline int chance(struct rng *r, int pct)
{
	return (int)rnd(r, 100) < pct;
}

static inline struct rng rng_at(uint64_t a, uint64_t b)
{
	struct rng r = { seed_of(a, b) };
	return r;
}

/* ---- raw system calls: -errno, never errno (safe in threadlets) ----------- */
static inline long rsys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define rsys0(n)		rsys6(n, 0, 0, 0, 0, 0, 0)
#define rsys1(n, a)		rsys6(n, (long)(a), 0, 0, 0, 0, 0)
#define rsys2(n, a, b)		rsys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define rsys3(n, a, b, c)	rsys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define rsys4(n, a, b, c, d)	rsys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define rsys5(n, a, b, c, d, e)	rsys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* ---- options --------------------------------------------------------------- */
struct opts {
	uint64_t seed;
	int duration;		/* seconds */
	int workers;		/* iterations at once */
	int ops;		/* ops per iteration (upper bound) */
	int hang_secs;		/* an op running longer is a hang */
	int tap;		/* TAP output for make test */
	int verbose;
	int replay;		/* run one iteration: replay_iter */
	uint64_t replay_iter;
	int minimize;		/* with --replay: drop ops while it still fails */
	int nonly;		/* --only: op indices to run */
	int only[FZ_MAX_ONLY];
	uint64_t disabled;	/* bit per op/chaos name (--no-NAME) */
	int no_pidns;
	int no_kmsg;
	const char *journal;
	const char *scratch;	/* tmpfs scratch directory */
	const char *slowdir;	/* a 9p directory, for I/O that really blocks */
	const char *self_exe;
	int max_iters;		/* stop after this many iterations (0: none) */
};
extern struct opts O;

/* Names --no-NAME accepts: every op plus the chaos actions. */
int name_index(const char *name);
const char *name_at(int i);
int name_count(void);
static inline int disabled(int idx)
{
	return idx >= 0 && (O.disabled >> idx) & 1;
}
int disabled_name(const char *name);

/* ---- the slot: everything an iteration shares with the supervisor ------------ */
struct cov_ent {
	uint64_t hash;
	uint64_t count;
	char key[FZ_COV_KEY];
};

struct slot {
	volatile int busy;
	volatile int cur_op;		/* op index now running, -1 none */
	volatile int may_hang;		/* current op may legitimately not end */
	volatile int nfail;
	volatile uint64_t execs;	/* system calls issued */
	volatile uint64_t atoms;	/* atoms run (as far as the oracle saw) */
	volatile uint64_t checks;	/* invariants checked */
	volatile uint64_t op_start_ms;
	volatile int nlines;
	volatile int log_fd;		/* replay: lines also go here, -1 otherwise */
	char fail[FZ_FAIL_LEN];
	char log[FZ_LOG_LINES][FZ_LOG_LEN];
	struct cov_ent cov[FZ_COV_SLOT];
};

/* ---- an iteration's state ------------------------------------------------------ */
enum ptr_kind {
	PK_VALID, PK_NULL, PK_KERNEL, PK_KERNEL_TEXT, PK_NONCANON, PK_LOW,
	PK_UNMAPPED, PK_RO, PK_PROTNONE, PK_STRADDLE, PK_RING, PK_ATOM,
	PK_UNALIGNED, PK_HIGHUSER, PK_ARGS, PK_NKINDS
};
extern const char *const ptr_kind_name[PK_NKINDS];

enum fd_kind {
	FK_NONE, FK_PIPE_R, FK_PIPE_W, FK_FILE, FK_SLOWFILE, FK_MEMFD, FK_DEVNULL,
	FK_DEVZERO, FK_SOCK, FK_EVENTFD, FK_EPOLL, FK_TIMERFD, FK_BLKDEV, FK_NKINDS
};
extern const char *const fd_kind_name[FK_NKINDS];

#define FZ_MAX_FDS	96
struct fdent {
	int fd;
	int kind;
	int priv;	/* in the private space */
};

#define FZ_HEADS	4
#define FZ_RING_SLOTS	256
#define FZ_MAX_INFLIGHT	256
#define FZ_TEMP_HEADS	12

struct head {
	struct async_head_user *ahu;	/* in the arena */
	struct syslet_uatom **ring;	/* its own ring */
	unsigned long slots;
	int dirty;			/* geometry fuzzed: completions unchecked */
	int corrupt;			/* something else wrote into the ring */
	unsigned long last_k;		/* kernel_ring_idx last seen */
	unsigned long user;		/* user_ring_idx as we left it */
};

struct chainrec;

struct ctx {
	struct slot *slot;
	uint64_t seed, iter, iseed;
	int op;				/* current op index */
	pid_t pid;
	int root;			/* euid 0 (fuzz setuid/sysctl/devices) */
	double t0;
	/* the arena (fz-arena.c) */
	char *arena;
	size_t arena_len;
	struct syslet_uatom *atoms;	/* chain atoms */
	int natoms, atom_next;
	long *rets;			/* ret slots, FZ_RETS */
	int ret_next;
	unsigned long *vals;		/* argument values, FZ_VALS */
	int val_next;
	unsigned long *counters;	/* umem_add loop counters (no one else writes here) */
	int counter_next;
	char *data;			/* I/O buffers */
	size_t data_len;
	char *straddle_end;		/* end of a RW page followed by PROT_NONE */
	char *ro;			/* read-only page */
	char *protnone;
	char *unmapped;
	struct syslet_uatom *ro_atom;	/* a valid atom in the RO page */
	long *ro_atom_ret;
	const unsigned long *ro_vals;	/* constants in the RO page */
	struct { char *p; size_t len; } areas[64];	/* more readable memory */
	int nareas;
	struct head heads[FZ_HEADS];
	struct async_head_user *ro_head;
	struct async_head_user *temp_heads;	/* FZ_TEMP_HEADS, rings of 64 slots */
	struct syslet_uatom **temp_rings;
	/* fds (fz-fd.c) */
	pthread_mutex_t fd_lock;
	struct fdent fds[FZ_MAX_FDS];
	int nfds;
	int has_private;		/* this process made a private fd */
	int files_unshared;		/* CLOSE_RANGE_UNSHARE: /proc/self shows another table */
	int timerfd;			/* periodic: blocking reads that end */
	int blkfd;			/* /dev/vda or /dev/nullb0, -1 */
	int nb_pipe[2];			/* a non-blocking pipe */
	/* chains in flight (fz-chain.c) */
	pthread_mutex_t chain_lock;
	struct chainrec *inflight[FZ_MAX_INFLIGHT];
	int ninflight;
	int untracked_chains;		/* one went asynchronous with the table full */
	volatile int bg_chains;		/* a chain or threadlet went asynchronous: it may
					 * still run (a loop never ends) and open fds */
	volatile unsigned atoms_wgen;	/* bumped when atoms may be written behind our back */
	/* seccomp: errno (>0) returned for nr, for the main thread */
	int seccomp_main;
	int seccomp_all;		/* TSYNC: every thread */
	volatile unsigned ident_gen;	/* bumped by every identity change (-ECANCELED) */
	unsigned short deny_errno[1024];
	/* threads */
	volatile int stop_threads;
	pthread_t feeder;
	int feeder_on;
	/* aio (fz-aio.c) */
	void *aio;
	/* results that end the run early */
	volatile int forked_child;	/* this process is a fork of the iteration */
	int rlimit_low;			/* RLIMIT_NOFILE lowered for a few ops */
};

/* ---- fz-iter.c ---------------------------------------------------------------- */
void run_iteration(struct slot *s, uint64_t seed, uint64_t iter);
void flog(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cov(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cov_err(struct ctx *c, const char *call, long ret);
const char *errname(long err);	/* "EFAULT", or the number */
double now_ms(void);
void count_exec(struct ctx *c, int n);
void check(struct ctx *c);	/* one invariant checked */
extern volatile sig_atomic_t sig_usr1, sig_usr2, sig_pipe, sig_xfsz;
int kick_me(struct ctx *c, int ms);	/* SIGUSR2 to this thread after ms; returns timer id */
void unkick(int id);
void hang_ok(struct ctx *c, int on);	/* the current op may not end */
int sleep_ms(int ms);
void start_watchdog(struct ctx *c);
int iter_nops(uint64_t seed, uint64_t iter);
const char *plan_op(uint64_t seed, uint64_t iter, int k);
long spawn_wait(struct ctx *c, pid_t pid, int secs, int *status); /* 0 ok, -1 killed after timeout */

/* The ops: each takes the iteration and its own PRNG. */
typedef void (*op_fn)(struct ctx *c, struct rng *r);
struct opdef {
	const char *name;
	op_fn fn;
	int weight;
	int root_only;
};
extern const struct opdef opdefs[];
extern const int nopdefs;

/* ---- fz-arena.c ---------------------------------------------------------------- */
int arena_setup(struct ctx *c);
void *ptr_kind(struct ctx *c, struct rng *r, int kind, size_t size);
int pick_bad_kind(struct rng *r);
int kind_readable(int kind);
long *ret_slot(struct ctx *c);
unsigned long *val_slot(struct ctx *c, unsigned long v);
char *data_buf(struct ctx *c, struct rng *r, size_t len);
struct syslet_uatom *atom_alloc(struct ctx *c, int n);
void area_add(struct ctx *c, void *p, size_t len);

/* ---- fz-chain.c ---------------------------------------------------------------- */
void op_chain(struct ctx *c, struct rng *r);
void op_chain_mutate(struct ctx *c, struct rng *r);
void op_chain_loop(struct ctx *c, struct rng *r);
void op_chain_thread(struct ctx *c, struct rng *r);
void op_async_wait(struct ctx *c, struct rng *r);
void op_ring(struct ctx *c, struct rng *r);
void op_reap(struct ctx *c, struct rng *r);
void op_umem(struct ctx *c, struct rng *r);
int reap_all(struct ctx *c, int wait_ms, int final);
void chains_forget(struct ctx *c);	/* in a forked child */
const char *nr_name(unsigned long nr);
int nr_refused(unsigned long nr);
int nr_unknown(unsigned long nr);
long run_simple_chain(struct ctx *c, struct rng *r, int inline_expected);

/* ---- fz-thl.c ----------------------------------------------------------------- */
void op_threadlet(struct ctx *c, struct rng *r);
void op_threadlet_raw(struct ctx *c, struct rng *r);

/* ---- fz-fd.c ------------------------------------------------------------------ */
int fds_setup(struct ctx *c);
int pick_fd(struct ctx *c, struct rng *r, int for_read);
int fd_add(struct ctx *c, int fd, int kind, int priv);
void fd_forget(struct ctx *c, int fd);
int is_private(long fd);
void op_fdup(struct ctx *c, struct rng *r);
void op_fd_create(struct ctx *c, struct rng *r);
void op_close_range(struct ctx *c, struct rng *r);
void op_scm(struct ctx *c, struct rng *r);
void op_fd_check(struct ctx *c, struct rng *r);
void op_fd_fork(struct ctx *c, struct rng *r);
void op_fd_exec(struct ctx *c, struct rng *r);
int exec_probe_main(int argc, char **argv);

/* ---- fz-aio.c ----------------------------------------------------------------- */
void op_aio(struct ctx *c, struct rng *r);
void op_aio_verify(struct ctx *c, struct rng *r);
void aio_teardown(struct ctx *c);

/* ---- fz-proc.c ---------------------------------------------------------------- */
void op_fork(struct ctx *c, struct rng *r);
void op_exec(struct ctx *c, struct rng *r);
void op_signal(struct ctx *c, struct rng *r);
void op_stop_loop(struct ctx *c, struct rng *r);
void op_kill_loop(struct ctx *c, struct rng *r);
void op_seccomp(struct ctx *c, struct rng *r);
void op_setuid(struct ctx *c, struct rng *r);
void op_rlimit(struct ctx *c, struct rng *r);

/* ---- syslet-fuzz.c (supervisor) -------------------------------------------------- */
extern struct slot *cur_slot;

#endif /* SYSLET_FUZZ_H */
