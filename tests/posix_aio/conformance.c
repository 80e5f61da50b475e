// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX AIO conformance suite (issue #18): main, helpers, and the cases
 * of single requests. tests/posix_aio/run.sh runs it against glibc and
 * under LD_PRELOAD=libsyslet-aio.so and requires identical output.
 *
 *   conformance [CASE...]     run every case, or those named (cases
 *                             marked library-only run only when named)
 */
#include "conformance.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

char tmpdir[256];
pthread_t main_thread;

void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

const char *en(int e)
{
	const char *s = e ? strerrorname_np(e) : "0";

	return s ? s : "E?";
}

uint64_t digest(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ull;
	return h;
}

int tmpfile_open(const char *name, int flags)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

void fill(void *buf, size_t n, unsigned seed)
{
	unsigned char *c = buf;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		c[i] = (unsigned char)(x >> 16);
	}
}

int make_file(const char *name, size_t n, unsigned seed)
{
	int fd = tmpfile_open(name, O_RDWR | O_CREAT | O_TRUNC);
	char *buf = malloc(n ? n : 1);

	fill(buf, n, seed);
	if (pwrite(fd, buf, n, 0) != (ssize_t)n) {
		perror("pwrite");
		exit(2);
	}
	free(buf);
	return fd;
}

void setcb(struct aiocb *cb, int fd, void *buf, size_t n, off_t off)
{
	memset(cb, 0, sizeof *cb);
	cb->aio_fildes = fd;
	cb->aio_buf = buf;
	cb->aio_nbytes = n;
	cb->aio_offset = off;
	cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

/* aio_suspend() first: glibc finishes a request under its lock, and may
 * rewrite its fields there (a failed notification); aio_suspend() takes
 * that lock, aio_error() alone does not. */
void wait_cb(struct aiocb *cb)
{
	const struct aiocb *l[1] = { cb };

	do
		aio_suspend(l, 1, NULL);
	while (aio_error(cb) == EINPROGRESS);
}

const char *res(struct aiocb *cb)
{
	static char b[4][64];
	static int i;
	char *s = b[i++ & 3];

	snprintf(s, 64, "err=%s ret=%zd", en(aio_error(cb)), aio_return(cb));
	return s;
}

const char *take_signal(void)
{
	static char b[160];
	struct timespec ts = { 5, 0 };
	sigset_t set;
	siginfo_t si;
	int s;

	sigemptyset(&set);
	sigaddset(&set, SIG_A);
	sigaddset(&set, SIG_B);
	sigaddset(&set, SIG_C);
	sigaddset(&set, SIG_D);
	s = sigtimedwait(&set, &si, &ts);
	if (s < 0)
		return "none";
	snprintf(b, sizeof b, "sig=%c code=%s value=%d pid=%s uid=%s", 'A' + s - SIG_A,
		 si.si_code == SI_ASYNCIO ? "SI_ASYNCIO" : "other", si.si_value.sival_int,
		 si.si_pid == getpid() ? "self" : "other", si.si_uid == getuid() ? "self" : "other");
	return b;
}

void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- single requests -------------------------------------------------- */

void case_read_write(void)
{
	int fd = tmpfile_open("rw", O_RDWR | O_CREAT | O_TRUNC);
	char *w = malloc(65536), *w2 = malloc(8192), *r = malloc(131072);
	struct aiocb a, b, c;
	struct stat st;
	int ra, rb, rc;

	fill(w, 65536, 1);
	fill(w2, 8192, 2);
	setcb(&a, fd, w, 65536, 0);
	setcb(&b, fd, w2, 8192, 100000);
	a.aio_lio_opcode = 77;
	ra = aio_write(&a);
	rb = aio_write(&b);
	wait_cb(&a);
	wait_cb(&b);
	fstat(fd, &st);
	out("read_write: write rc=%d,%d a: %s opcode=%d b: %s size=%lld", ra, rb, res(&a),
	    a.aio_lio_opcode, res(&b), (long long)st.st_size);
	memset(r, 0xee, 131072);
	setcb(&c, fd, r, 131072, 0);
	c.aio_lio_opcode = 77;
	rc = aio_read(&c);
	wait_cb(&c);
	out("read_write: read rc=%d %s again=%zd opcode=%d digest=%016llx", rc, res(&c),
	    aio_return(&c), c.aio_lio_opcode, (unsigned long long)digest(r, 131072));
	/* the same aiocb again, as programs reuse them */
	for (int i = 0; i < 3; i++) {
		setcb(&c, fd, r, 4096, i * 40000);
		rc = aio_read(&c);
		wait_cb(&c);
		out("read_write: reuse %d rc=%d %s digest=%016llx", i, rc, res(&c),
		    (unsigned long long)digest(r, 4096));
	}
	close(fd);
	free(w);
	free(w2);
	free(r);
}

void case_short_file_eof(void)
{
	static const struct { off_t off; size_t n; } rd[] = {
		{ 0, 4096 }, { 1000, 10 }, { 5000, 10 }, { 990, 100 }, { 0, 0 }, { 999, 1 },
	};
	int fd = make_file("short", 1000, 3);
	char buf[4096];
	struct aiocb cb;

	for (unsigned i = 0; i < sizeof rd / sizeof rd[0]; i++) {
		memset(buf, 0, sizeof buf);
		setcb(&cb, fd, buf, rd[i].n, rd[i].off);
		int rc = aio_read(&cb);

		wait_cb(&cb);
		ssize_t n = aio_return(&cb);

		out("short_file_eof: off=%lld len=%zu rc=%d %s digest=%016llx", (long long)rd[i].off,
		    rd[i].n, rc, res(&cb), (unsigned long long)digest(buf, n > 0 ? (size_t)n : 0));
	}
	close(fd);
}

void case_fsync(void)
{
	int fd = tmpfile_open("fsync", O_RDWR | O_CREAT | O_TRUNC);
	int ro = tmpfile_open("fsync", O_RDONLY);
	static const struct { const char *name; int op; } ops[] = {
		{ "O_SYNC", O_SYNC }, { "O_DSYNC", O_DSYNC },
	};
	char buf[8192];
	struct aiocb cb;

	fill(buf, sizeof buf, 4);
	if (write(fd, buf, sizeof buf) != sizeof buf)
		exit(2);
	for (int i = 0; i < 2; i++) {
		setcb(&cb, fd, NULL, 0, 0);
		cb.aio_reqprio = 5;
		int rc = aio_fsync(ops[i].op, &cb);

		wait_cb(&cb);
		out("fsync: %s rc=%d %s opcode=%d reqprio=%d", ops[i].name, rc, res(&cb),
		    cb.aio_lio_opcode, cb.aio_reqprio);
		setcb(&cb, ro, NULL, 0, 0);
		rc = aio_fsync(ops[i].op, &cb);
		wait_cb(&cb);
		out("fsync: %s read-only fd rc=%d %s", ops[i].name, rc, res(&cb));
	}
	close(fd);
	close(ro);
}

/* POSIX: an fsync covers the operations queued on the file before it. */
void case_fsync_after_writes(void)
{
	int fd = tmpfile_open("fsync2", O_RDWR | O_CREAT | O_TRUNC);
	char *buf = malloc(16 * 65536);
	struct aiocb w[16], s, c;
	int done = 0, rc;

	fill(buf, 16 * 65536, 5);
	for (int i = 0; i < 16; i++) {
		setcb(&w[i], fd, buf + i * 65536, 65536, (off_t)i * 65536);
		aio_write(&w[i]);
	}
	setcb(&s, fd, NULL, 0, 0);
	rc = aio_fsync(O_SYNC, &s);
	/* A write queued after the fsync ends after it (one fd's order). */
	setcb(&c, fd, buf, 4096, 16 * 65536);
	aio_write(&c);
	wait_cb(&c);
	int fsync_first = aio_error(&s) != EINPROGRESS;

	wait_cb(&s);
	for (int i = 0; i < 16; i++)
		done += aio_error(&w[i]) != EINPROGRESS;
	out("fsync_after_writes: rc=%d %s writes_done_before=%d", rc, res(&s), done);
	out("fsync_after_writes: a later write %s, the fsync done before it=%d", res(&c), fsync_first);
	for (int i = 0; i < 16; i++)
		wait_cb(&w[i]);
	close(fd);
	free(buf);
}

static void error_case(const char *name, int fd, int op, int prio, off_t off, int notify, int signo)
{
	char buf[64];
	struct aiocb cb;
	int rc;

	setcb(&cb, fd, buf, sizeof buf, off);
	cb.aio_reqprio = prio;
	cb.aio_sigevent.sigev_notify = notify;
	cb.aio_sigevent.sigev_signo = signo;
	errno = 0;
	rc = op ? aio_write(&cb) : aio_read(&cb);
	int e = errno;

	if (rc == 0)
		wait_cb(&cb);
	out("errors: %s rc=%d errno=%s %s", name, rc, rc ? en(e) : "-", res(&cb));
}

void case_errors(void)
{
	int fd = make_file("err", 4096, 6), ro = tmpfile_open("err", O_RDONLY);
	int wo = tmpfile_open("err", O_WRONLY), closed = tmpfile_open("err", O_RDONLY);
	int dir = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int p[2];
	struct aiocb cb, zero;
	int rc;

	close(closed);
	error_case("reqprio=-1", fd, 0, -1, 0, SIGEV_NONE, 0);
	error_case("reqprio=21", fd, 0, AIO_PRIO_DELTA_MAX + 1, 0, SIGEV_NONE, 0);
	error_case("reqprio=20", fd, 0, AIO_PRIO_DELTA_MAX, 0, SIGEV_NONE, 0);
	error_case("fd=-1", -1, 0, 0, 0, SIGEV_NONE, 0);
	error_case("closed fd", closed, 0, 0, 0, SIGEV_NONE, 0);
	error_case("negative offset read", fd, 0, 0, -4096, SIGEV_NONE, 0);
	error_case("negative offset write", fd, 1, 0, -1, SIGEV_NONE, 0);
	error_case("write on O_RDONLY", ro, 1, 0, 0, SIGEV_NONE, 0);
	error_case("read on O_WRONLY", wo, 0, 0, 0, SIGEV_NONE, 0);
	error_case("read of a directory", dir, 0, 0, 0, SIGEV_NONE, 0);
	error_case("SIGEV_SIGNAL signo=200", fd, 0, 0, 0, SIGEV_SIGNAL, 200);
	error_case("SIGEV_SIGNAL signo=0", fd, 0, 0, 0, SIGEV_SIGNAL, 0);
	error_case("sigev_notify=99", fd, 0, 0, 0, 99, 0);

	setcb(&cb, fd, NULL, 0, 0);
	errno = 0;
	rc = aio_fsync(0, &cb);
	out("errors: aio_fsync op=0 rc=%d errno=%s", rc, en(errno));
	setcb(&cb, closed, NULL, 0, 0);
	errno = 0;
	rc = aio_fsync(O_SYNC, &cb);
	out("errors: aio_fsync closed fd rc=%d errno=%s", rc, en(errno));
	if (pipe(p))
		exit(2);
	setcb(&cb, p[1], NULL, 0, 0);
	rc = aio_fsync(O_SYNC, &cb);
	wait_cb(&cb);
	out("errors: aio_fsync of a pipe rc=%d %s", rc, res(&cb));

	memset(&zero, 0, sizeof zero);
	out("errors: never submitted err=%s ret=%zd", en(aio_error(&zero)), aio_return(&zero));
	const struct aiocb *nulls[3] = { NULL, NULL, NULL };

	errno = 0;
	rc = aio_suspend(nulls, -1, NULL);
	out("errors: aio_suspend nent=-1 rc=%d errno=%s", rc, en(errno));
	rc = aio_suspend(nulls, 0, NULL);
	out("errors: aio_suspend nent=0 rc=%d", rc);
	rc = aio_suspend(nulls, 3, NULL);
	out("errors: aio_suspend all NULL rc=%d", rc);
	const struct aiocb *z[1] = { &zero };

	rc = aio_suspend(z, 1, NULL);
	out("errors: aio_suspend never submitted rc=%d", rc);
	close(p[0]);
	close(p[1]);
	close(fd);
	close(ro);
	close(wo);
	close(dir);
}

/* glibc runs a descriptor's requests in order: overlapping ones show it. */
void case_same_fd_order(void)
{
	int fd = tmpfile_open("order", O_RDWR | O_CREAT | O_TRUNC);
	int ap = tmpfile_open("append", O_RDWR | O_CREAT | O_TRUNC | O_APPEND);
	char *a = malloc(8192), *b = malloc(8192), *r = malloc(16384), ab[3][100];
	struct aiocb w1, w2, rd, w[3];
	struct stat st;

	memset(a, 'A', 8192);
	memset(b, 'B', 8192);
	memset(r, 0, 16384);
	setcb(&w1, fd, a, 8192, 0);
	setcb(&w2, fd, b, 8192, 4096);
	setcb(&rd, fd, r, 16384, 0);
	aio_write(&w1);
	aio_write(&w2);
	aio_read(&rd);
	wait_cb(&w1);
	wait_cb(&w2);
	wait_cb(&rd);
	out("same_fd_order: w1 %s w2 %s read %s digest=%016llx", res(&w1), res(&w2), res(&rd),
	    (unsigned long long)digest(r, 16384));
	for (int i = 0; i < 3; i++) {
		memset(ab[i], '1' + i, sizeof ab[i]);
		setcb(&w[i], ap, ab[i], sizeof ab[i], 0);
		aio_write(&w[i]);
	}
	for (int i = 0; i < 3; i++)
		wait_cb(&w[i]);
	memset(r, 0, 300);
	fstat(ap, &st);
	if (pread(ap, r, 300, 0) != 300)
		exit(2);
	out("same_fd_order: O_APPEND %s %s %s size=%lld digest=%016llx", res(&w[0]), res(&w[1]),
	    res(&w[2]), (long long)st.st_size, (unsigned long long)digest(r, 300));
	close(fd);
	close(ap);
	free(a);
	free(b);
	free(r);
}

/* The *64 names (the same structure on 64-bit systems). */
void case_aio64(void)
{
	int fd = make_file("a64", 65536, 9);
	char buf[65536];
	struct aiocb64 cb, s;
	const struct aiocb64 *l[1] = { &cb };
	int rc;

	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = fd;
	cb.aio_buf = buf;
	cb.aio_nbytes = sizeof buf;
	cb.aio_offset = 1000;
	rc = aio_read64(&cb);
	aio_suspend64(l, 1, NULL);
	while (aio_error64(&cb) == EINPROGRESS)
		aio_suspend64(l, 1, NULL);
	out("aio64: read rc=%d err=%s ret=%zd digest=%016llx cancel=%d", rc, en(aio_error64(&cb)),
	    aio_return64(&cb), (unsigned long long)digest(buf, sizeof buf - 1000),
	    aio_cancel64(fd, &cb));
	cb.aio_offset = 0;
	cb.aio_nbytes = 100;
	rc = aio_write64(&cb);
	while (aio_error64(&cb) == EINPROGRESS)
		aio_suspend64(l, 1, NULL);
	memset(&s, 0, sizeof s);
	s.aio_fildes = fd;
	int rs = aio_fsync64(O_DSYNC, &s);
	const struct aiocb64 *ls[1] = { &s };

	while (aio_error64(&s) == EINPROGRESS)
		aio_suspend64(ls, 1, NULL);
	struct aiocb64 *lio[1] = { &cb };

	cb.aio_lio_opcode = LIO_READ;
	int rl = lio_listio64(LIO_WAIT, lio, 1, NULL);

	out("aio64: write rc=%d fsync rc=%d err=%s lio rc=%d ret=%zd", rc, rs, en(aio_error64(&s)),
	    rl, aio_return64(&cb));
	close(fd);
}

/* LIB_ONLY cases run only when named: glibc fails them (see each). */
static const struct {
	const char *name;
	void (*fn)(void);
	int lib_only;
} cases[] = {
	{ "read_write", case_read_write },
	{ "short_file_eof", case_short_file_eof },
	{ "cached_reads", case_cached_reads },
	{ "device_reads", case_device_reads },
	{ "bad_buffers", case_bad_buffers },
	{ "zero_large", case_zero_large },
	{ "fsync", case_fsync },
	{ "fsync_after_writes", case_fsync_after_writes },
	{ "errors", case_errors },
	{ "suspend", case_suspend },
	{ "suspend_eintr", case_suspend_eintr },
	{ "cancel", case_cancel },
	{ "same_fd_order", case_same_fd_order },
	{ "aio64", case_aio64 },
	{ "lio", case_lio },
	{ "lio_nowait", case_lio_nowait },
	{ "notify_signal", case_notify_signal },
	{ "notify_thread", case_notify_thread },
	{ "threads", case_threads },
	{ "many_inflight", case_many_inflight },
	{ "fork", case_fork },
	{ "exit_exec", case_exit_exec },
	{ "read_runs", case_read_runs },
	{ "fork_child_io", case_fork_child_io, 1 },
	{ "helper_fork", case_helper_fork, 1 },
	{ "cancel_kernel", case_cancel_kernel, 1 },
	{ "cancel_started", case_cancel_started, 1 },
	{ "reap_paths", case_reap_paths, 1 },
	{ "reap_eintr", case_reap_eintr, 1 },
	{ "reap_longjmp", case_reap_longjmp, 1 },
	{ "reap_cancel", case_reap_cancel, 1 },
	{ "reap_cancel_slow", case_reap_cancel_slow, 1 },
};

int main(int argc, char **argv)
{
	const char *t = getenv("TMPDIR");
	sigset_t set;
	char cmd[600];

	main_thread = pthread_self();
	/* exit_exec's child: AIO in flight, then ARGV[2] */
	if (argc == 4 && !strcmp(argv[1], "--inflight-then")) {
		snprintf(tmpdir, sizeof tmpdir, "%s", argv[3]);
		inflight_then(argv[2]);
		return 1;
	}
	/* glibc's idle AIO threads exit after aio_idle_time seconds, taking
	 * its request lock on the way: a fork() then could leave that lock
	 * held in the child (glibc has no fork handler for it). Keep them. */
	struct aioinit init = { .aio_threads = 20, .aio_num = 64, .aio_idle_time = 3600 };

	aio_init(&init);
	/* notification signals stay pending for sigtimedwait() in every thread */
	sigemptyset(&set);
	for (int s = SIG_A; s <= SIG_D; s++)
		sigaddset(&set, s);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	snprintf(tmpdir, sizeof tmpdir, "%s/posix-aio.XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int run = argc < 2 && !cases[i].lib_only;

		for (int j = 1; j < argc; j++)
			run |= !strcmp(argv[j], cases[i].name);
		if (run)
			cases[i].fn();
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) ? 2 : 0;
}
