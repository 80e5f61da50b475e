// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX AIO conformance suite: many threads, many requests, fork(),
 * exit() and exec() with requests in flight.
 */
#include "conformance.h"

#include <sys/syscall.h>
#include <sys/wait.h>

#define NTHREADS 8
#define PER_THREAD 64
#define BLK 4096

struct worker {
	int fd, id, bad, tid_changed;
	char *buf;
};

/* Each thread writes its blocks at once and waits for all of them; its
 * TID must not change on the way. */
static void *writer(void *arg)
{
	struct worker *w = arg;
	struct aiocb *cb = calloc(PER_THREAD, sizeof *cb);
	const struct aiocb **l = calloc(PER_THREAD, sizeof *l);
	pid_t tid = (pid_t)syscall(SYS_gettid);

	for (int i = 0; i < PER_THREAD; i++) {
		int blk = i * NTHREADS + w->id;

		fill(w->buf + (size_t)i * BLK, BLK, 1000 + blk);
		setcb(&cb[i], w->fd, w->buf + (size_t)i * BLK, BLK, (off_t)blk * BLK);
		if (aio_write(&cb[i]))
			w->bad++;
		l[i] = &cb[i];
	}
	for (int left = PER_THREAD; left;) {
		aio_suspend(l, PER_THREAD, NULL);
		for (int i = 0; i < PER_THREAD; i++) {
			if (!l[i] || aio_error(&cb[i]) == EINPROGRESS)
				continue;
			if (aio_return(&cb[i]) != BLK)
				w->bad++;
			l[i] = NULL;
			left--;
		}
	}
	w->tid_changed = tid != (pid_t)syscall(SYS_gettid);
	if (w->tid_changed)	/* (stderr: the outputs compared are stdout) */
		fprintf(stderr, "threads: writer %d: tid %d became %d (pid %d)\n", w->id, (int)tid,
			(int)syscall(SYS_gettid), (int)getpid());
	free(cb);
	free(l);
	return NULL;
}

static void *reader(void *arg)
{
	struct worker *w = arg;
	struct aiocb cb[PER_THREAD];
	struct aiocb *l[PER_THREAD];

	for (int i = 0; i < PER_THREAD; i++) {
		int blk = i * NTHREADS + (NTHREADS - 1 - w->id);

		setcb(&cb[i], w->fd, w->buf + (size_t)i * BLK, BLK, (off_t)blk * BLK);
		cb[i].aio_lio_opcode = LIO_READ;
		l[i] = &cb[i];
	}
	if (lio_listio(LIO_WAIT, l, PER_THREAD, NULL))
		w->bad++;
	for (int i = 0; i < PER_THREAD; i++)
		if (aio_return(&cb[i]) != BLK)
			w->bad++;
	return NULL;
}

void case_threads(void)
{
	int fd = tmpfile_open("threads", O_RDWR | O_CREAT | O_TRUNC);
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	uint64_t h = 0;
	int bad = 0, changed = 0;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < NTHREADS; i++) {
			w[i] = (struct worker){ .fd = fd, .id = i };
			w[i].buf = malloc((size_t)PER_THREAD * BLK);
			pthread_create(&t[i], NULL, round ? reader : writer, &w[i]);
		}
		for (int i = 0; i < NTHREADS; i++) {
			pthread_join(t[i], NULL);
			bad += w[i].bad;
			changed += w[i].tid_changed;
			if (round)
				h ^= digest(w[i].buf, (size_t)PER_THREAD * BLK) * (uint64_t)(i + 1);
			free(w[i].buf);
		}
	}
	/* what a plain read sees */
	char *all = malloc((size_t)NTHREADS * PER_THREAD * BLK);
	ssize_t n = pread(fd, all, (size_t)NTHREADS * PER_THREAD * BLK, 0);

	out("threads: %d threads x %d writes then lio reads: bad=%d tid_changed=%d read_digest=%016llx "
	    "file=%zd digest=%016llx",
	    NTHREADS, PER_THREAD, bad, changed, (unsigned long long)h, n,
	    (unsigned long long)digest(all, n > 0 ? (size_t)n : 0));
	free(all);
	close(fd);
}

/* More requests at once than an io_context is made for (1024). */
void case_many_inflight(void)
{
	enum { N = 3000, SZ = 512 };
	int fd = make_file("many", (size_t)N * SZ, 15);
	struct aiocb *cb = calloc(N, sizeof *cb);
	struct aiocb **l = calloc(N, sizeof *l);
	char *buf = calloc(N, SZ);
	int rc, bad = 0;

	for (int i = 0; i < N; i++) {
		setcb(&cb[i], fd, buf + (size_t)i * SZ, SZ, (off_t)(N - 1 - i) * SZ);
		cb[i].aio_lio_opcode = LIO_READ;
		l[i] = &cb[i];
	}
	rc = lio_listio(LIO_NOWAIT, l, N, NULL);
	for (int i = 0; i < N; i++) {
		wait_cb(&cb[i]);
		bad += aio_return(&cb[i]) != SZ;
	}
	out("many_inflight: %d reads rc=%d bad=%d digest=%016llx", N, rc, bad,
	    (unsigned long long)digest(buf, (size_t)N * SZ));
	/* and as many single aio_write()s, then a read of everything */
	for (int i = 0; i < N; i++) {
		fill(buf + (size_t)i * SZ, SZ, 2000 + i);
		setcb(&cb[i], fd, buf + (size_t)i * SZ, SZ, (off_t)i * SZ);
		bad += aio_write(&cb[i]) != 0;
	}
	for (int i = 0; i < N; i++) {
		wait_cb(&cb[i]);
		bad += aio_return(&cb[i]) != SZ;
	}
	char *back = malloc((size_t)N * SZ);

	bad += pread(fd, back, (size_t)N * SZ, 0) != (ssize_t)N * SZ;
	out("many_inflight: %d writes bad=%d same=%d", N, bad,
	    !memcmp(back, buf, (size_t)N * SZ));
	free(back);
	free(cb);
	free(l);
	free(buf);
	close(fd);
}

/*
 * fork() with requests in flight. The child sees them as glibc leaves
 * them: in progress for ever, not cancellable, aio_suspend() times out.
 * WITH_IO: the child then does I/O of its own. That is library-only
 * (fork_child_io): glibc's child copies a count of idle threads it does
 * not have, and a request made there can wait for ever.
 */
static void fork_case(const char *name, int with_io)
{
	int fd = tmpfile_open("fork", O_RDWR | O_CREAT | O_TRUNC), p[2];
	char pb[8], *wb = malloc(8 * BLK);
	struct aiocb pr, w[8];
	pid_t pid;
	int st;

	if (pipe(p))
		exit(2);
	setcb(&pr, p[0], pb, 5, 0);
	aio_read(&pr);
	fill(wb, 8 * BLK, 16);
	for (int i = 0; i < 8; i++) {
		setcb(&w[i], fd, wb + i * BLK, BLK, (off_t)i * BLK);
		aio_write(&w[i]);
	}
	msleep(200);	/* glibc's thread has taken the pipe read: it runs */
	pid = fork();
	if (pid == 0) {
		const struct aiocb *l[1] = { &pr };
		struct timespec ms50 = { 0, 50000000 };
		char cb_buf[BLK];
		struct aiocb c;
		int rc, rs;

		rc = aio_cancel(p[0], &pr);
		errno = 0;
		rs = aio_suspend(l, 1, &ms50);
		out("%s: child: pipe read err=%s cancel=%d suspend=%d/%s", name, en(aio_error(&pr)), rc,
		    rs, en(errno));
		if (!with_io)
			_exit(0);
		int cfd = tmpfile_open("fork-child", O_RDWR | O_CREAT | O_TRUNC);

		fill(cb_buf, BLK, 17);
		setcb(&c, cfd, cb_buf, BLK, 0);
		rc = aio_write(&c);
		wait_cb(&c);
		out("%s: child: write rc=%d %s", name, rc, res(&c));
		memset(cb_buf, 0, BLK);
		rc = aio_read(&c);
		wait_cb(&c);
		out("%s: child: read rc=%d %s digest=%016llx", name, rc, res(&c),
		    (unsigned long long)digest(cb_buf, BLK));
		_exit(0);
	}
	waitpid(pid, &st, 0);
	int bad = 0;

	for (int i = 0; i < 8; i++) {
		wait_cb(&w[i]);
		bad += aio_return(&w[i]) != BLK;
	}
	if (write(p[1], "after", 5) != 5)
		exit(2);
	wait_cb(&pr);
	out("%s: parent: child status=%d writes bad=%d pipe %s data=%.5s", name, WEXITSTATUS(st), bad,
	    res(&pr), pb);
	close(p[0]);
	close(p[1]);
	close(fd);
	free(wb);
}

void case_fork(void)
{
	fork_case("fork", 0);
}

void case_fork_child_io(void)
{
	fork_case("fork_child_io", 1);
}

/*
 * Requests in flight at exit(), _exit() and exec(): nothing hangs, the
 * status is the program's. The child first execs a fresh copy of the
 * suite: a fork() child of a process that used glibc's AIO can deadlock
 * in glibc itself (its request lock may be held by a thread the child
 * does not have), which is not what this case is about.
 */
void inflight_then(const char *how)
{
	int fd = tmpfile_open("exitexec", O_RDWR | O_CREAT | O_TRUNC), p[2];
	static char buf[16 * BLK], pb[4];
	static struct aiocb cb[17];

	if (pipe(p))
		_exit(2);
	setcb(&cb[16], p[0], pb, 1, 0);
	aio_read(&cb[16]);
	for (int i = 0; i < 16; i++) {
		setcb(&cb[i], fd, buf + i * BLK, BLK, (off_t)i * BLK);
		aio_write(&cb[i]);
	}
	if (!strcmp(how, "exit"))
		exit(3);
	if (!strcmp(how, "_exit"))
		_exit(4);
	execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
	_exit(6);
}

void case_exit_exec(void)
{
	static const char *const how[] = { "exit", "_exit", "exec" };

	for (int k = 0; k < 3; k++) {
		int st;
		pid_t pid = fork();

		if (pid == 0) {
			execl("/proc/self/exe", "conformance", "--inflight-then", how[k], tmpdir,
			      (char *)NULL);
			_exit(7);
		}
		waitpid(pid, &st, 0);
		out("exit_exec: %s with requests in flight: status=%d", how[k],
		    WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
	}
}
