// SPDX-License-Identifier: GPL-2.0
/*
 * Which object serves each POSIX AIO reference a binary can have: the
 * default versions (GLIBC_2.34, what a program built today links to) and
 * the old ones (GLIBC_2.2.5 from librt, lio_listio@GLIBC_2.4), which an
 * old binary has; the latter are pinned here with .symver, as in such a
 * binary. Prints one line per reference, "NAME@VERSION OBJECT", then
 * does I/O through both kinds and reports whether libsyslet-aio served
 * it (its syslet_aio_stats() counters move), and checks that the old
 * lio_listio keeps its old semantics (no per-request notification).
 *
 *   interpose EXPECTED-OBJECT     exit 0 iff every reference resolves there
 */
#define _GNU_SOURCE
#include <aio.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OLD(ret, name, ver, args)                    \
	extern ret old_##name args;                  \
	__asm__(".symver old_" #name ", " #name "@" ver)

OLD(int, aio_read, "GLIBC_2.2.5", (struct aiocb *));
OLD(int, aio_write, "GLIBC_2.2.5", (struct aiocb *));
OLD(int, aio_fsync, "GLIBC_2.2.5", (int, struct aiocb *));
OLD(int, aio_error, "GLIBC_2.2.5", (const struct aiocb *));
OLD(ssize_t, aio_return, "GLIBC_2.2.5", (struct aiocb *));
OLD(int, aio_suspend, "GLIBC_2.2.5", (const struct aiocb *const[], int, const struct timespec *));
OLD(int, aio_cancel, "GLIBC_2.2.5", (int, struct aiocb *));
OLD(void, aio_init, "GLIBC_2.2.5", (const struct aioinit *));
OLD(int, lio_listio, "GLIBC_2.2.5", (int, struct aiocb *const[], int, struct sigevent *));
OLD(int, aio_read64, "GLIBC_2.2.5", (struct aiocb64 *));
OLD(int, aio_error64, "GLIBC_2.2.5", (const struct aiocb64 *));
OLD(ssize_t, aio_return64, "GLIBC_2.2.5", (struct aiocb64 *));
OLD(int, lio_listio64, "GLIBC_2.2.5", (int, struct aiocb64 *const[], int, struct sigevent *));
extern int lio_listio_24(int, struct aiocb *const[], int, struct sigevent *);
__asm__(".symver lio_listio_24, lio_listio@GLIBC_2.4");

#define REF(name, ver, fn) { #name "@" ver, (void *)(fn) }

static const struct {
	const char *name;
	void *addr;
} refs[] = {
	REF(aio_read, "GLIBC_2.34", aio_read),
	REF(aio_write, "GLIBC_2.34", aio_write),
	REF(aio_fsync, "GLIBC_2.34", aio_fsync),
	REF(aio_error, "GLIBC_2.34", aio_error),
	REF(aio_return, "GLIBC_2.34", aio_return),
	REF(aio_suspend, "GLIBC_2.34", aio_suspend),
	REF(aio_cancel, "GLIBC_2.34", aio_cancel),
	REF(aio_init, "GLIBC_2.34", aio_init),
	REF(lio_listio, "GLIBC_2.34", lio_listio),
	REF(aio_read64, "GLIBC_2.34", aio_read64),
	REF(aio_write64, "GLIBC_2.34", aio_write64),
	REF(aio_fsync64, "GLIBC_2.34", aio_fsync64),
	REF(aio_error64, "GLIBC_2.34", aio_error64),
	REF(aio_return64, "GLIBC_2.34", aio_return64),
	REF(aio_suspend64, "GLIBC_2.34", aio_suspend64),
	REF(aio_cancel64, "GLIBC_2.34", aio_cancel64),
	REF(lio_listio64, "GLIBC_2.34", lio_listio64),
	REF(aio_read, "GLIBC_2.2.5", old_aio_read),
	REF(aio_write, "GLIBC_2.2.5", old_aio_write),
	REF(aio_fsync, "GLIBC_2.2.5", old_aio_fsync),
	REF(aio_error, "GLIBC_2.2.5", old_aio_error),
	REF(aio_return, "GLIBC_2.2.5", old_aio_return),
	REF(aio_suspend, "GLIBC_2.2.5", old_aio_suspend),
	REF(aio_cancel, "GLIBC_2.2.5", old_aio_cancel),
	REF(aio_init, "GLIBC_2.2.5", old_aio_init),
	REF(lio_listio, "GLIBC_2.2.5", old_lio_listio),
	REF(lio_listio, "GLIBC_2.4", lio_listio_24),
	REF(aio_read64, "GLIBC_2.2.5", old_aio_read64),
	REF(aio_error64, "GLIBC_2.2.5", old_aio_error64),
	REF(aio_return64, "GLIBC_2.2.5", old_aio_return64),
	REF(lio_listio64, "GLIBC_2.2.5", old_lio_listio64),
};

static const char *object_of(void *addr)
{
	Dl_info info;
	const char *s;

	if (!dladdr(addr, &info) || !info.dli_fname)
		return "?";
	s = strrchr(info.dli_fname, '/');
	return s ? s + 1 : info.dli_fname;
}

typedef int (*stats_fn)(unsigned long long *, int);

/* io_submit() requests the library made so far (-1: not loaded). */
static long long kernel_requests(void)
{
	stats_fn f = (stats_fn)dlsym(RTLD_DEFAULT, "syslet_aio_stats");
	unsigned long long v[1];

	if (!f)
		return -1;
	f(v, 1);
	return (long long)v[0];
}

static void wait_old(struct aiocb *cb)
{
	const struct aiocb *l[1] = { cb };

	while (old_aio_error(cb) == EINPROGRESS)
		old_aio_suspend(l, 1, NULL);
}

int main(int argc, char **argv)
{
	char path[] = "/tmp/interpose.XXXXXX", buf[4096];
	int fd = mkstemp(path), bad = 0;
	struct aiocb cb, *l[1] = { &cb };

	if (argc != 2 || fd < 0) {
		fprintf(stderr, "usage: interpose EXPECTED-OBJECT\n");
		return 2;
	}
	unlink(path);
	for (unsigned i = 0; i < sizeof refs / sizeof refs[0]; i++) {
		const char *o = object_of(refs[i].addr);

		printf("%s %s\n", refs[i].name, o);
		bad += strcmp(o, argv[1]) != 0;
	}

	/* I/O through a new and an old reference */
	memset(buf, 'x', sizeof buf);
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = fd;
	cb.aio_buf = buf;
	cb.aio_nbytes = sizeof buf;
	long long k0 = kernel_requests();
	int r1 = aio_write(&cb);

	wait_old(&cb);
	long long k1 = kernel_requests();
	int r2 = old_aio_read(&cb);

	wait_old(&cb);
	long long k2 = kernel_requests();

	printf("io: new write rc=%d old read rc=%d ret=%zd io_submit by the library: new=%s old=%s\n",
	       r1, r2, old_aio_return(&cb), k0 < 0 ? "n/a" : k1 > k0 ? "yes" : "no",
	       k0 < 0 ? "n/a" : k2 > k1 ? "yes" : "no");

	/* the old lio_listio sends no per-request notification: glibc's
	 * compat version clears the members' sigev_notify */
	cb.aio_lio_opcode = LIO_READ;
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGUSR1;
	signal(SIGUSR1, SIG_IGN);
	int r3 = old_lio_listio(LIO_WAIT, l, 1, NULL);

	printf("old lio_listio: rc=%d ret=%zd member sigev_notify=%s\n", r3, aio_return(&cb),
	       cb.aio_sigevent.sigev_notify == SIGEV_NONE ? "SIGEV_NONE" : "unchanged");
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	r3 = lio_listio_24(LIO_WAIT, l, 1, NULL);
	printf("lio_listio@GLIBC_2.4: rc=%d ret=%zd member sigev_notify=%s\n", r3, aio_return(&cb),
	       cb.aio_sigevent.sigev_notify == SIGEV_NONE ? "SIGEV_NONE" : "unchanged");
	close(fd);
	printf("%s: %d of %zu references elsewhere\n", bad ? "FAIL" : "ok", bad,
	       sizeof refs / sizeof refs[0]);
	return bad ? 1 : 0;
}
