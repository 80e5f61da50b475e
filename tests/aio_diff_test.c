// SPDX-License-Identifier: GPL-2.0
/*
 * fs/aio.c on the syslet engine against the stock path, side by side:
 * random sequences of iocbs run once with kernel.syslet_aio=0 and once
 * with =1, each in a fresh child process on fresh files, and what a
 * program can observe must be the same (Documentation/aio.md).
 *
 * The files are on tmpfs (which the syslet path leaves to the stock one
 * for reads) and a span of /dev/nullb0 written and so cached at the
 * start of each run (where it reads inline with IOCB_NOWAIT and writes
 * armed for a handoff, syslet/aio.rs). No request needs I/O (no RWF_DSYNC
 * write goes to the device): the stock path
 * completes each read and write inside io_submit(), and so must the
 * syslet path, which may differ only for a request that would block.
 * What is compared, as text, line by line:
 *
 * - io_submit()'s return for each batch (1-4 iocbs: pread, pwrite,
 *   preadv, pwritev, fsync, fdatasync, an unknown opcode; good, bad and
 *   read-only fds, an O_APPEND one; offsets past EOF and negative; NULL,
 *   PROT_NONE and read-only buffers, bad iovec arrays; RWF_NOWAIT,
 *   RWF_DSYNC, RWF_APPEND and unknown flags; a nonzero reserved field;
 *   eventfd notification; RLIMIT_FSIZE);
 * - the events of the io_getevents() right after it (min_nr 0 or up to
 *   the batch, no wait or 10 ms), in order, with a digest of the bytes
 *   each read brought; fsyncs, which stock runs on a workqueue, are
 *   collected apart and compared as a set;
 * - after each batch the eventfd's count and the SIGXFSZs raised;
 * - at the end each file's size and digest.
 *
 * Seeds are fixed: a mismatch names the seed, the batch and both lines,
 * and leaves both logs in /tmp. AIO_DIFF_SEED=n runs that seed alone and
 * logs the files' sizes and digests after every batch too.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "aio_test.h"

enum {
	SEEDS = 10,
	BATCHES = 1800,		/* per seed: about 1,100 iocbs accepted */
	MAXB = 4,		/* iocbs per batch */
	BUF = 64 << 10,
	FSIZE_LIMIT = 96 << 10,	/* RLIMIT_FSIZE of the children */
	LOG_BYTES = 4 << 20,
};

/* The files of one run, and what the generator picks among. */
enum { F_DATA, F_SHORT, F_APPEND, F_DEV, F_RDONLY, F_BAD, F_CLOSED, NFDS };

/* The device's bytes the runs use (cached at the start of each). */
#define DEV_BASE (256LL << 20)
#define DEV_SPAN (256 << 10)

struct run {
	uint64_t rng;
	int fd[NFDS];
	int efd;
	char *buf[MAXB];	/* each iocb's own */
	struct iovec iov[MAXB][3];
	char *ro, *unmapped;
	aio_context_t ctx;
	long iocbs;		/* submitted */
	char *log;		/* shared with the parent */
	size_t len;
};

static volatile int xfsz;
static int verbose;	/* AIO_DIFF_SEED=n: that seed alone, files after each batch */

static void file_state(struct run *r, const char *name, int fd);

static void on_xfsz(int sig)
{
	xfsz++;
}

static uint64_t rnd(struct run *r, uint64_t n)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return n ? r->rng % n : r->rng;
}

static uint64_t digest(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *s++) * 1099511628211ULL;
	return h;
}

static void out(struct run *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len + 256 >= LOG_BYTES)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->log + r->len, LOG_BYTES - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += n;
}

static int setup(struct run *r)
{
	char path[] = "/tmp/aio-diff-XXXXXX";
	static char pattern[BUF];
	int i;

	for (i = 0; i < BUF; i++)
		pattern[i] = 'a' + i % 26;
	r->fd[F_DATA] = temp_file();
	r->fd[F_SHORT] = temp_file();
	if (r->fd[F_DATA] < 0 || r->fd[F_SHORT] < 0 ||
	    pwrite(r->fd[F_DATA], pattern, BUF, 0) != BUF ||
	    pwrite(r->fd[F_SHORT], pattern, 100, 0) != 100)
		return -1;
	i = mkstemp(path);
	if (i < 0)
		return -1;
	close(i);
	r->fd[F_APPEND] = open(path, O_RDWR | O_APPEND);
	r->fd[F_RDONLY] = open(path, O_RDONLY);
	unlink(path);
	/* The device's span: the same bytes in every run, all of them cached. */
	r->fd[F_DEV] = open(NULLB, O_RDWR);
	if (r->fd[F_DEV] < 0)
		return -1;
	for (i = 0; i < DEV_SPAN; i += BUF)
		if (pwrite(r->fd[F_DEV], pattern, BUF, DEV_BASE + i) != BUF)
			return -1;
	if (fsync(r->fd[F_DEV]))
		return -1;
	r->fd[F_BAD] = -1;
	r->fd[F_CLOSED] = 1000;	/* nothing open there */
	close(r->fd[F_CLOSED]);
	r->efd = eventfd(0, EFD_NONBLOCK);
	for (i = 0; i < MAXB; i++)
		r->buf[i] = malloc(BUF);
	/*
	 * Whole buffers' worth: what a bad buffer reaches is the same in
	 * every run (a page unmapped alone is where the next mapping, a
	 * thread's stack say, may land).
	 */
	r->ro = mmap(NULL, BUF, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r->unmapped = mmap(NULL, BUF, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->fd[F_APPEND] < 0 || r->fd[F_RDONLY] < 0 || r->efd < 0 || !r->buf[MAXB - 1] ||
	    r->ro == MAP_FAILED || r->unmapped == MAP_FAILED)
		return -1;
	return syscall(__NR_io_setup, 64, &r->ctx) ? -1 : 0;
}

/* A buffer for iocb i: its own, or a bad one now and then. */
static char *pick_buf(struct run *r, int i)
{
	switch (rnd(r, 40)) {
	case 0: return NULL;
	case 1: return r->unmapped;
	case 2: return r->ro;	/* EFAULT for reads only */
	default: return r->buf[i];
	}
}

static size_t pick_len(struct run *r)
{
	switch (rnd(r, 6)) {
	case 0: return 0;
	case 1: return BUF;
	case 2: return 1 + rnd(r, 64);
	default: return 1 + rnd(r, 8192);
	}
}

static long long pick_off(struct run *r)
{
	switch (rnd(r, 12)) {
	case 0: return -1 - (long long)rnd(r, 4096);	/* EINVAL */
	case 1: return FSIZE_LIMIT - 100 + rnd(r, 200);	/* across the rlimit */
	case 2: return BUF + rnd(r, 8192);			/* past EOF */
	default: return rnd(r, BUF);
	}
}

static void gen(struct run *r, struct iocb *cb, int i)
{
	static const int ops[] = { IOCB_CMD_PREAD, IOCB_CMD_PREAD, IOCB_CMD_PWRITE,
				   IOCB_CMD_PWRITE, IOCB_CMD_PREADV, IOCB_CMD_PWRITEV,
				   IOCB_CMD_FSYNC, IOCB_CMD_FDSYNC, 42 };
	int op = ops[rnd(r, sizeof(ops) / sizeof(ops[0]))];
	int write = op == IOCB_CMD_PWRITE || op == IOCB_CMD_PWRITEV;
	size_t len = pick_len(r);
	char *b;
	int f;

	memset(cb, 0, sizeof(*cb));
	f = rnd(r, 12);
	f = f < 3 ? F_DATA : f < 5 ? F_SHORT : f < 7 ? F_APPEND : f < 10 ? F_DEV :
	    f == 10 ? F_RDONLY : rnd(r, 2) ? F_BAD : F_CLOSED;
	cb->aio_fildes = r->fd[f];
	cb->aio_lio_opcode = op;
	cb->aio_data = i + 1;
	cb->aio_offset = pick_off(r);
	if (f == F_DEV && cb->aio_offset >= 0)
		cb->aio_offset += DEV_BASE;
	b = pick_buf(r, i);
	if (write && b == r->buf[i])
		for (size_t k = 0; k < len; k++)
			b[k] = 'A' + rnd(r, 26);
	if (op == IOCB_CMD_PREADV || op == IOCB_CMD_PWRITEV) {
		int n = 1 + rnd(r, 3);
		size_t part = len / n;

		for (int k = 0; k < n; k++) {
			r->iov[i][k].iov_base = b ? b + k * part : NULL;
			r->iov[i][k].iov_len = k == n - 1 ? len - k * part : part;
		}
		cb->aio_buf = rnd(r, 30) ? (uintptr_t)r->iov[i] : (uintptr_t)r->unmapped;
		cb->aio_nbytes = rnd(r, 40) ? n : 1 << 20;	/* too many segments */
	} else {
		cb->aio_buf = (uintptr_t)b;
		cb->aio_nbytes = len;
	}
	switch (rnd(r, 24)) {
	case 0: cb->aio_rw_flags = RWF_NOWAIT; break;
	case 1:	/* not on the device, where a write must then wait for it */
		cb->aio_rw_flags = f == F_DEV && write ? 0 : RWF_DSYNC;
		break;
	case 2: cb->aio_rw_flags = RWF_APPEND; break;
	case 3: cb->aio_rw_flags = 1 << 30; break;	/* unknown: EOPNOTSUPP */
	case 4: cb->aio_reserved2 = 1; break;		/* EINVAL */
	}
	if (rnd(r, 4) == 0) {
		cb->aio_flags = IOCB_FLAG_RESFD;
		cb->aio_resfd = rnd(r, 12) ? r->efd : r->fd[F_DATA];	/* not an eventfd */
	}
}

/* What a buffer is, for the log (addresses differ from run to run). */
static const char *buf_name(struct run *r, int i, uint64_t p)
{
	return !p ? "NULL" : p == (uintptr_t)r->unmapped ? "prot-none" : p == (uintptr_t)r->ro ? "read-only" :
	       p == (uintptr_t)r->iov[i] ? "iovec" : "own";
}

static int is_fsync(const struct iocb *cb)
{
	return cb->aio_lio_opcode == IOCB_CMD_FSYNC || cb->aio_lio_opcode == IOCB_CMD_FDSYNC;
}

static void log_event(struct run *r, const char *what, const struct io_event *e,
		      struct iocb *cbs)
{
	int i = (int)e->data - 1;
	uint64_t h = 0;

	if (i >= 0 && i < MAXB && (long long)e->res > 0 &&
	    (cbs[i].aio_lio_opcode == IOCB_CMD_PREAD || cbs[i].aio_lio_opcode == IOCB_CMD_PREADV) &&
	    (long long)e->res <= BUF)
		h = digest(r->buf[i], e->res);
	out(r, "  %s data=%llu res=%lld res2=%lld bytes=%016llx\n", what,
	     (unsigned long long)e->data, (long long)e->res, (long long)e->res2,
	     (unsigned long long)h);
}

static int by_data(const void *a, const void *b)
{
	const struct io_event *x = a, *y = b;

	return x->data < y->data ? -1 : x->data > y->data;
}

static void batch(struct run *r, int step)
{
	struct iocb cbs[MAXB], *cbp[MAXB];
	struct io_event ev[MAXB], late[MAXB];
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int n = 1 + rnd(r, MAXB), nlate = 0, i;
	long sub, got, min, left;
	uint64_t count = 0;

	for (i = 0; i < n; i++) {
		gen(r, &cbs[i], i);
		cbp[i] = &cbs[i];
		memset(r->buf[i], 0, BUF);
	}
	if (rnd(r, 50) == 0)
		cbp[rnd(r, n)] = NULL;	/* EFAULT at that index */
	for (i = 0; i < n; i++)
		out(r, "  iocb %d: op %d fd %d off %lld nbytes %llu buf %s rw_flags %#x flags %#x%s\n",
		    i + 1, cbs[i].aio_lio_opcode, (int)cbs[i].aio_fildes, (long long)cbs[i].aio_offset,
		    (unsigned long long)cbs[i].aio_nbytes, buf_name(r, i, cbs[i].aio_buf),
		    cbs[i].aio_rw_flags, cbs[i].aio_flags, cbp[i] ? "" : " (NULL in the array)");
	sub = syscall(__NR_io_submit, r->ctx, n, cbp);
	if (sub < 0)
		sub = -errno;
	out(r, "batch %d: io_submit(%d) = %ld\n", step, n, sub);
	if (sub <= 0)
		return;
	r->iocbs += sub;
	min = rnd(r, 2) ? 0 : 1 + rnd(r, sub);
	for (i = 0; i < sub; i++)
		min -= min && is_fsync(&cbs[i]);	/* stock completes those later */
	got = syscall(__NR_io_getevents, r->ctx, min, MAXB, ev, rnd(r, 2) ? &ts : NULL);
	if (got < 0)
		got = -errno;
	out(r, "  io_getevents(%ld) =", min);
	for (i = left = 0; i < got; i++)
		left += !is_fsync(&cbs[ev[i].data - 1]);
	out(r, " %ld besides fsyncs\n", left);
	for (i = 0; i < got; i++) {
		if (is_fsync(&cbs[ev[i].data - 1]))
			late[nlate++] = ev[i];
		else
			log_event(r, "event", &ev[i], cbs);
	}
	/* The rest: fsyncs (and, were the paths to differ, whatever is late). */
	left = sub - (got > 0 ? got : 0);
	while (left > 0) {
		struct timespec wait = { 5, 0 };

		got = syscall(__NR_io_getevents, r->ctx, left, left, late + nlate, &wait);
		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			out(r, "  %ld never completed\n", left);
			break;
		}
		nlate += got;
		left -= got;
	}
	qsort(late, nlate, sizeof(late[0]), by_data);
	for (i = 0; i < nlate; i++)
		log_event(r, is_fsync(&cbs[late[i].data - 1]) ? "fsync" : "late", &late[i], cbs);
	if (read(r->efd, &count, sizeof(count)) != sizeof(count))
		count = 0;
	out(r, "  eventfd %llu sigxfsz %d\n", (unsigned long long)count, xfsz);
	if (verbose)
		for (i = F_DATA; i <= F_DEV; i++)
			file_state(r, "  file", r->fd[i]);
}

static void file_state(struct run *r, const char *name, int fd)
{
	static char b[DEV_SPAN];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st))
		return;
	if (S_ISBLK(st.st_mode))
		st.st_size = DEV_SPAN;	/* its span, not its size */
	n = pread(fd, b, sizeof(b), S_ISBLK(st.st_mode) ? DEV_BASE : 0);
	out(r, "%s: size %lld digest %016llx\n", name, (long long)st.st_size,
	     (unsigned long long)(n > 0 ? digest(b, n) : 0));
}

static void *batches(void *arg)
{
	struct run *r = arg;

	for (int i = 0; i < BATCHES; i++)
		batch(r, i);
	return NULL;
}

/*
 * One seed on one path, in a child: its log, and how many iocbs went in.
 * The batches run on a second thread, as they always have (the group
 * leader's writes took the thread path until issue 17; they now take the
 * same path as a second thread's).
 */
static void child_run(uint64_t seed, char *log, long *iocbs)
{
	struct rlimit rl = { FSIZE_LIMIT, FSIZE_LIMIT };
	struct run r = { .rng = seed * 2654435761ULL + 1, .log = log };
	struct sigaction sa = { .sa_handler = on_xfsz };
	pthread_t t;

	if (sigaction(SIGXFSZ, &sa, NULL) || setup(&r) || setrlimit(RLIMIT_FSIZE, &rl) ||
	    pthread_create(&t, NULL, batches, &r) || pthread_join(t, NULL)) {
		out(&r, "setup failed: %s\n", strerror(errno));
		_exit(2);
	}
	file_state(&r, "data", r.fd[F_DATA]);
	file_state(&r, "short", r.fd[F_SHORT]);
	file_state(&r, "append", r.fd[F_APPEND]);
	file_state(&r, "device", r.fd[F_DEV]);
	*iocbs = r.iocbs;
	_exit(0);
}

/* The first line where a and b differ, with the batch line before it. */
static void report(const char *a, const char *b, uint64_t seed)
{
	const char *la = a, *lb = b, *batch_a = a;

	while (*la && *lb) {
		const char *ea = strchrnul(la, '\n'), *eb = strchrnul(lb, '\n');

		if (ea - la != eb - lb || memcmp(la, lb, ea - la)) {
			say("seed %llu: the paths differ in:\n%.*s", (unsigned long long)seed,
			    (int)(la - batch_a), batch_a);
			say("  syslet_aio=0: %.*s", (int)(ea - la), la);
			say("  syslet_aio=1: %.*s", (int)(eb - lb), lb);
			return;
		}
		if (!strncmp(la, "batch", 5))
			batch_a = la;
		la = *ea ? ea + 1 : ea;
		lb = *eb ? eb + 1 : eb;
	}
	say("seed %llu: one log ends first", (unsigned long long)seed);
}

/* Both logs of a failing seed, for diff(1). */
static void dump(char *log[2], uint64_t seed)
{
	for (int path = 0; path < 2; path++) {
		char name[64];
		FILE *f;

		snprintf(name, sizeof(name), "/tmp/aio-diff-seed%llu-syslet_aio%d.log",
			 (unsigned long long)seed, path);
		f = fopen(name, "w");
		if (f) {
			fputs(log[path], f);
			fclose(f);
			say("%s", name);
		}
	}
}

FIXTURE(diff) {};
FIXTURE_SETUP(diff) {}
FIXTURE_TEARDOWN(diff) {}

TEST_F_TIMEOUT(diff, stock_and_syslet_paths_agree_on_random_iocbs, 600)
{
	char *log[2];
	long *iocbs, total = 0;
	uint64_t first = 1, last = SEEDS;
	int status;

	if (geteuid() != 0)
		SKIP(return, "switching kernel.syslet_aio takes root");
	if (access(NULLB, R_OK | W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	iocbs = mmap(NULL, 2 * LOG_BYTES + 4096, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, iocbs);
	log[0] = (char *)iocbs + 4096;
	log[1] = log[0] + LOG_BYTES;
	if (getenv("AIO_DIFF_SEED")) {
		first = last = strtoull(getenv("AIO_DIFF_SEED"), NULL, 0);
		verbose = 1;
	}
	for (uint64_t seed = first; seed <= last; seed++) {
		for (int path = 0; path < 2; path++) {
			pid_t pid;

			memset(log[path], 0, LOG_BYTES);
			ASSERT_EQ(0, set_syslet_aio(path));
			fflush(NULL);
			pid = fork();
			ASSERT_GE(pid, 0);
			if (pid == 0)
				child_run(seed, log[path], &iocbs[path]);
			ASSERT_TRUE(wait_deadline(pid, &status, 120000)) {
				kill_reap(pid);
			}
			ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
				TH_LOG("seed %llu, syslet_aio=%d: status %#x: %.200s",
				       (unsigned long long)seed, path, status, log[path]);
		}
		if (strcmp(log[0], log[1])) {
			report(log[0], log[1], seed);
			dump(log, seed);
		}
		ASSERT_STREQ(log[0], log[1]);
		ASSERT_EQ(iocbs[0], iocbs[1]);
		total += iocbs[0];
	}
	set_syslet_aio(1);
	say("%ld iocbs submitted on each path over %d seeds", total, SEEDS);
	ASSERT_GE(total, 10000);
}

TEST_HARNESS_MAIN
