// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX AIO conformance suite: lio_listio() and notifications.
 */
#include "conformance.h"

#include <semaphore.h>

/* lio_listio(LIO_WAIT) of l[n], and one line: its answer and each member's. */
static void lio_wait(const char *name, struct aiocb **l, int n)
{
	char b[512];
	int o = 0, rc, e;

	errno = 0;
	rc = lio_listio(LIO_WAIT, l, n, NULL);
	e = errno;

	for (int i = 0; i < n; i++)
		o += snprintf(b + o, sizeof b - (size_t)o, " [%d] %s", i,
			      l[i] ? res(l[i]) : "NULL");
	out("lio: %s rc=%d errno=%s%s", name, rc, rc ? en(e) : "-", b);
}

void case_lio(void)
{
	int fd = make_file("lio", 65536, 10), ro = tmpfile_open("lio", O_RDONLY);
	char *w = malloc(16384), *r1 = calloc(1, 16384), *r2 = calloc(1, 16384);
	struct aiocb a, b, c, d;
	struct aiocb *l[4];
	int rc;

	fill(w, 16384, 11);
	errno = 0;
	rc = lio_listio(7, l, 0, NULL);
	out("lio: mode=7 rc=%d errno=%s", rc, en(errno));
	errno = 0;
	rc = lio_listio(LIO_WAIT, l, -1, NULL);
	out("lio: nent=-1 rc=%d errno=%s", rc, en(rc ? errno : 0));
	rc = lio_listio(LIO_WAIT, l, 0, NULL);
	out("lio: nent=0 rc=%d", rc);

	/* a write, a NOP, NULL, a read of what the write does not touch */
	setcb(&a, fd, w, 16384, 32768);
	a.aio_lio_opcode = LIO_WRITE;
	setcb(&b, fd, r1, 16384, 0);
	b.aio_lio_opcode = LIO_NOP;
	setcb(&d, fd, r2, 16384, 0);
	d.aio_lio_opcode = LIO_READ;
	l[0] = &a;
	l[1] = &b;
	l[2] = NULL;
	l[3] = &d;
	b.__error_code = 1234;	/* a NOP is not touched */
	rc = lio_listio(LIO_WAIT, l, 4, NULL);
	out("lio: wait rc=%d write %s nop err=%d read %s digest=%016llx", rc, res(&a), b.__error_code,
	    res(&d), (unsigned long long)digest(r2, 16384));

	/* failing members: a bad fd, a write on a read-only fd */
	setcb(&a, fd, r1, 4096, 0);
	a.aio_lio_opcode = LIO_READ;
	setcb(&b, -1, r2, 4096, 0);
	b.aio_lio_opcode = LIO_READ;
	setcb(&c, ro, w, 4096, 0);
	c.aio_lio_opcode = LIO_WRITE;
	l[0] = &a;
	l[1] = &b;
	l[2] = &c;
	lio_wait("wait, failing members", l, 3);

	/* a member that cannot be submitted (aio_reqprio) among good ones */
	setcb(&b, fd, r2, 4096, 4096);
	b.aio_lio_opcode = LIO_READ;
	b.aio_reqprio = 99;
	l[1] = &b;
	setcb(&c, fd, w, 4096, 8192);
	c.aio_lio_opcode = LIO_READ;
	lio_wait("wait, bad reqprio member", l, 3);
	l[0] = &b;
	lio_wait("wait, only a bad reqprio member", l, 1);

	/* opcodes: unknown, and glibc's fsync codes (3 fdatasync, 4 fsync) */
	setcb(&a, fd, r1, 4096, 0);
	a.aio_lio_opcode = 7;
	setcb(&b, fd, NULL, 0, 0);
	b.aio_lio_opcode = 3;
	setcb(&c, fd, NULL, 0, 0);
	c.aio_lio_opcode = 4;
	setcb(&d, fd, r2, 100, 0);
	d.aio_lio_opcode = 128;	/* glibc reads (opcode & 127) */
	l[0] = &a;
	l[1] = &b;
	l[2] = &c;
	l[3] = &d;
	lio_wait("wait, opcodes 7,3,4,128", l, 4);

	/* a pipe member (not a regular file) with data ready */
	int p[2];

	if (pipe(p) || write(p[1], "pipe!", 5) != 5)
		exit(2);
	setcb(&a, p[0], r1, 100, 0);
	a.aio_lio_opcode = LIO_READ;
	setcb(&b, fd, r2, 100, 0);
	b.aio_lio_opcode = LIO_READ;
	l[0] = &a;
	l[1] = &b;
	rc = lio_listio(LIO_WAIT, l, 2, NULL);
	out("lio: wait, pipe + file rc=%d pipe %s data=%.5s file %s", rc, res(&a), r1, res(&b));
	close(p[0]);
	close(p[1]);
	close(fd);
	close(ro);
	free(w);
	free(r1);
	free(r2);
}

static sem_t lio_sem;
static int lio_thread_value;

/*
 * A notification thread starts with no signal blocked (glibc's choice, so
 * the library's too): block the suite's notification signals before
 * letting the next case send one, or this thread, still exiting, could
 * take it and die of it.
 */
static void block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void lio_thread(union sigval v)
{
	lio_thread_value = v.sival_int;
	block_signals();
	sem_post(&lio_sem);
}

/* Up to N notification signals, sorted, on one line. */
static void signals_line(const char *name, int rc, int e, int n)
{
	char s[4][160], b[700] = "";
	int k = 0, o = 0;

	for (; k < n; k++) {
		const char *t = take_signal();

		if (!strcmp(t, "none"))
			break;
		snprintf(s[k], sizeof s[k], "%s", t);
	}
	/* sort: the order of several signals is not specified */
	for (int i = 0; i < k; i++)
		for (int j = i + 1; j < k; j++)
			if (strcmp(s[i], s[j]) > 0) {
				char tmp[160];

				memcpy(tmp, s[i], sizeof tmp);
				memcpy(s[i], s[j], sizeof tmp);
				memcpy(s[j], tmp, sizeof tmp);
			}
	for (int i = 0; i < k; i++)
		o += snprintf(b + o, sizeof b - (size_t)o, " {%s}", s[i]);
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	for (int sg = SIG_A; sg <= SIG_D; sg++)
		sigaddset(&set, sg);
	int extra = sigtimedwait(&set, NULL, &zero) >= 0;

	out("lio_nowait: %s rc=%d errno=%s signals=%d%s extra=%d", name, rc, rc ? en(e) : "-", k, b,
	    extra);
}

void case_lio_nowait(void)
{
	int fd = make_file("lion", 65536, 12);
	char r[4][4096];
	struct aiocb a, b, c;
	struct aiocb *l[3] = { &a, &b, &c };
	struct sigevent sig;
	int rc, e;

	memset(&sig, 0, sizeof sig);
	sig.sigev_notify = SIGEV_SIGNAL;
	sig.sigev_signo = SIG_C;
	sig.sigev_value.sival_int = 99;

	/* the list's signal, and each member's own */
	for (int i = 0; i < 3; i++) {
		setcb(l[i], fd, r[i], 4096, i * 4096);
		l[i]->aio_lio_opcode = LIO_READ;
	}
	a.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	a.aio_sigevent.sigev_signo = SIG_D;
	a.aio_sigevent.sigev_value.sival_int = 1;
	c.aio_sigevent = a.aio_sigevent;
	c.aio_sigevent.sigev_value.sival_int = 3;
	rc = lio_listio(LIO_NOWAIT, l, 3, &sig);
	signals_line("list and members", rc, errno, 3);
	for (int i = 0; i < 3; i++)
		wait_cb(l[i]);
	out("lio_nowait: members %s %s %s", res(&a), res(&b), res(&c));

	/* a member failing later (bad fd): the call succeeds */
	setcb(&a, fd, r[0], 4096, 0);
	a.aio_lio_opcode = LIO_READ;
	setcb(&b, -1, r[1], 4096, 0);
	b.aio_lio_opcode = LIO_READ;
	rc = lio_listio(LIO_NOWAIT, l, 2, &sig);
	signals_line("bad fd member", rc, errno, 1);
	wait_cb(&a);
	wait_cb(&b);
	out("lio_nowait: members %s %s", res(&a), res(&b));

	/* a member that cannot be submitted: the call fails, the rest runs */
	setcb(&b, fd, r[1], 4096, 0);
	b.aio_lio_opcode = LIO_READ;
	b.aio_reqprio = -5;
	errno = 0;
	rc = lio_listio(LIO_NOWAIT, l, 2, &sig);
	e = errno;
	signals_line("bad reqprio member", rc, e, 1);
	wait_cb(&a);
	out("lio_nowait: members %s %s", res(&a), res(&b));

	/* nothing to do: the notification comes at once */
	a.aio_lio_opcode = LIO_NOP;
	b.aio_lio_opcode = LIO_NOP;
	rc = lio_listio(LIO_NOWAIT, l, 2, &sig);
	signals_line("only NOPs", rc, errno, 1);
	rc = lio_listio(LIO_NOWAIT, l, 0, &sig);
	signals_line("nent=0", rc, errno, 1);

	/* LIO_WAIT ignores the sigevent */
	setcb(&a, fd, r[0], 4096, 0);
	a.aio_lio_opcode = LIO_READ;
	rc = lio_listio(LIO_WAIT, l, 1, &sig);
	signals_line("LIO_WAIT with a sigevent", rc, errno, 0);

	/* SIGEV_THREAD for the list */
	sem_init(&lio_sem, 0, 0);
	sig.sigev_notify = SIGEV_THREAD;
	sig.sigev_notify_function = lio_thread;
	sig.sigev_notify_attributes = NULL;
	sig.sigev_value.sival_int = 4242;
	setcb(&a, fd, r[0], 4096, 0);
	a.aio_lio_opcode = LIO_READ;
	setcb(&b, fd, r[1], 4096, 4096);
	b.aio_lio_opcode = LIO_READ;
	rc = lio_listio(LIO_NOWAIT, l, 2, &sig);
	sem_wait(&lio_sem);
	wait_cb(&a);
	wait_cb(&b);
	out("lio_nowait: SIGEV_THREAD rc=%d value=%d members %s %s", rc, lio_thread_value, res(&a),
	    res(&b));
	sem_destroy(&lio_sem);
	close(fd);
}

static volatile sig_atomic_t got_code, got_value, got_count;

static void on_sig_a(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	got_code = si->si_code;
	got_value = si->si_value.sival_int;
	got_count++;
}

void case_notify_signal(void)
{
	int fd = make_file("nsig", 8192, 13), p[2];
	char buf[8192];
	struct aiocb cb;
	int rc;

	/* pending for sigtimedwait(): the aiocb is finished when it comes */
	setcb(&cb, fd, buf, 8192, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIG_A;
	cb.aio_sigevent.sigev_value.sival_int = 1234;
	rc = aio_read(&cb);
	const char *s = take_signal();

	out("notify_signal: file read rc=%d {%s} then %s", rc, s, res(&cb));
	cb.aio_sigevent.sigev_value.sival_int = 5678;
	cb.aio_nbytes = 100;
	rc = aio_write(&cb);
	s = take_signal();
	out("notify_signal: file write rc=%d {%s} then %s", rc, s, res(&cb));

	/* a pipe (served by glibc under the library) */
	if (pipe(p))
		exit(2);
	setcb(&cb, p[0], buf, 10, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIG_A;
	cb.aio_sigevent.sigev_value.sival_int = 42;
	rc = aio_read(&cb);
	if (write(p[1], "0123456789", 10) != 10)
		exit(2);
	s = take_signal();
	out("notify_signal: pipe read rc=%d {%s} then %s", rc, s, res(&cb));

	/* a handler (SA_SIGINFO) sees si_code and si_value */
	struct sigaction sa = { .sa_sigaction = on_sig_a, .sa_flags = SA_SIGINFO };
	sigset_t none;

	sigemptyset(&sa.sa_mask);
	sigaction(SIG_A, &sa, NULL);
	got_count = 0;
	setcb(&cb, fd, buf, 4096, 4096);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIG_A;
	cb.aio_sigevent.sigev_value.sival_int = 31337;
	rc = aio_read(&cb);
	wait_cb(&cb);
	pthread_sigmask(SIG_SETMASK, NULL, &none);
	sigdelset(&none, SIG_A);
	while (!got_count)
		sigsuspend(&none);
	out("notify_signal: handler rc=%d code=%s value=%d count=%d %s", rc,
	    got_code == SI_ASYNCIO ? "SI_ASYNCIO" : "other", (int)got_value, (int)got_count, res(&cb));
	signal(SIG_A, SIG_DFL);
	close(p[0]);
	close(p[1]);
	close(fd);
}

struct seen {
	sem_t sem;
	int value, err, other_thread, usr1_blocked;
	struct aiocb *cb;
};

static struct seen seen;

static void on_done(union sigval v)
{
	sigset_t cur;

	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	seen.value = v.sival_int;
	seen.err = aio_error(seen.cb);
	seen.other_thread = !pthread_equal(pthread_self(), main_thread);
	seen.usr1_blocked = sigismember(&cur, SIGUSR1);
	block_signals();
	sem_post(&seen.sem);
}

void case_notify_thread(void)
{
	int fd = make_file("nthr", 8192, 14), p[2];
	char buf[8192];
	struct aiocb cb;
	pthread_attr_t attr;
	sigset_t usr1, old;
	const char *kinds[] = { "default attributes", "detached, 256 KiB stack", "joinable" };

	sem_init(&seen.sem, 0, 0);
	seen.cb = &cb;
	/* the notification thread starts with no signal blocked */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	for (int k = 0; k < 3; k++) {
		pthread_attr_init(&attr);
		if (k == 1) {
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			pthread_attr_setstacksize(&attr, 256 * 1024);
		}
		setcb(&cb, fd, buf, 1000, k * 1000);
		cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
		cb.aio_sigevent.sigev_notify_function = on_done;
		cb.aio_sigevent.sigev_notify_attributes = k ? &attr : NULL;
		cb.aio_sigevent.sigev_value.sival_int = 100 + k;
		int rc = aio_read(&cb);

		sem_wait(&seen.sem);
		out("notify_thread: %s rc=%d value=%d err_seen=%s other_thread=%d usr1_blocked=%d %s",
		    kinds[k], rc, seen.value, en(seen.err), seen.other_thread, seen.usr1_blocked,
		    res(&cb));
		pthread_attr_destroy(&attr);
	}
	/* a pipe (served by glibc under the library) */
	if (pipe(p))
		exit(2);
	setcb(&cb, p[0], buf, 3, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = on_done;
	cb.aio_sigevent.sigev_value.sival_int = 555;
	int rc = aio_read(&cb);

	if (write(p[1], "xyz", 3) != 3)
		exit(2);
	sem_wait(&seen.sem);
	out("notify_thread: pipe rc=%d value=%d err_seen=%s other_thread=%d usr1_blocked=%d %s", rc,
	    seen.value, en(seen.err), seen.other_thread, seen.usr1_blocked, res(&cb));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sem_destroy(&seen.sem);
	close(p[0]);
	close(p[1]);
	close(fd);
}
