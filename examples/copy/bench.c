// SPDX-License-Identifier: GPL-2.0
/*
 * copy-bench [MIB]: copies a cached MIB MiB file (default 16) on /tmp
 * (tmpfs in the guest) to another, with each engine at queue depth 1 and
 * 16, 64 KiB chunks (syslet: 4 pread -> pwrite pairs per chain):
 *
 *   direct    pread + pwrite (no queue depth: the same figure is given
 *             for both metrics)
 *   syslet    libsyslet chains
 *   io_uring  reads and writes through io_uring
 *
 * ROUNDS (9) rounds with the engines interleaved; the median round of
 * each, in microseconds per MiB, as the benchmarks copy_qd1 and
 * copy_qd16. After every copy the destination is compared with the
 * source, so a copy that skipped data fails the benchmark. The
 * io_uring copies run in a thread of their own (a task with an io_uring
 * does not get the syslet cachemiss handoff); built without liburing,
 * they are left out. JSON lines on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "copy.h"

#define ROUNDS 9
#ifdef EXAMPLES_NO_URING
#define HAVE_URING 0
#else
#define HAVE_URING 1
#endif
#define SRC "/tmp/copy-bench-src"
#define DST "/tmp/copy-bench-dst"

static size_t size;
static unsigned char *want;

static void die(const char *what, int err)
{
	fprintf(stderr, "copy-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct job {
	struct copy_opts o;
	double ns;
};

static void *timed_copy(void *arg)
{
	struct job *j = arg;
	enum copy_op op;
	int in = open(SRC, O_RDONLY), out = open(DST, O_RDWR | O_CREAT | O_TRUNC, 0644);
	long long n;
	void *got;
	double t;

	if (in < 0 || out < 0)
		die("open", errno);
	t = now_ns();
	n = copy_fd(in, out, &j->o, &op);
	j->ns = now_ns() - t;
	if (n < 0)
		die("copy", (int)-n);
	if ((size_t)n != size)
		die("the copy has the wrong length", EPROTO);
	got = mmap(NULL, size, PROT_READ, MAP_SHARED, out, 0);
	if (got == MAP_FAILED)
		die("mmap", errno);
	if (memcmp(got, want, size))
		die("the copy differs from the source", EPROTO);
	munmap(got, size);
	close(in);
	close(out);
	return NULL;
}

static double copy(enum copy_mode mode, unsigned int qd)
{
	struct job j = { .o = { .mode = mode, .qd = qd, .pairs = 4, .chunk = 65536 } };
	pthread_t t;
	int err;

	if (mode != COPY_URING) {
		timed_copy(&j);
		return j.ns;
	}
	err = pthread_create(&t, NULL, timed_copy, &j);
	if (err || (err = pthread_join(t, NULL)))
		die("pthread", err);
	return j.ns;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void emit(const char *bench, const char *variant, double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp);
	printf("{\"benchmark\":\"%s\",\"variant\":\"%s\",\"metric\":\"us_per_mib\","
	       "\"value\":%.1f,\"unit\":\"us\"}\n", bench, variant,
	       v[ROUNDS / 2] / 1e3 / (size >> 20));
}

int main(int argc, char **argv)
{
	static const struct { enum copy_mode mode; unsigned int qd; } v[5] = {
		{ COPY_DIRECT, 1 }, { COPY_SYSLET, 1 }, { COPY_URING, 1 },
		{ COPY_SYSLET, 16 }, { COPY_URING, 16 },
	};
	unsigned int mib = argc > 1 ? atoi(argv[1]) : 16;
	double t[5][ROUNDS], d[ROUNDS];
	size_t i, k;
	int fd, r;

	if (!mib || mib > 1024)
		die("MIB must be 1 to 1024", EINVAL);
	size = (size_t)mib << 20;
	want = malloc(size);
	if (!want)
		die("malloc", ENOMEM);
	for (i = 0; i < size; i++)
		want[i] = (unsigned char)(i * 131 + (i >> 12));
	fd = open(SRC, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, want, size) != (ssize_t)size || close(fd))
		die(SRC, errno);
	for (i = 0; i < 5; i++)	/* warm up, check every engine once */
		if (HAVE_URING || v[i].mode != COPY_URING)
			copy(v[i].mode, v[i].qd);
	/* The order rotates from round to round, so that what one variant
	 * leaves behind (io_uring's workers and ring teardown) does not
	 * always fall on the same next one. */
	for (r = 0; r < ROUNDS; r++)
		for (k = 0; k < 5; k++) {
			i = (k + r) % 5;
			if (HAVE_URING || v[i].mode != COPY_URING)
				t[i][r] = copy(v[i].mode, v[i].qd);
		}
	memcpy(d, t[0], sizeof(d));
	emit("copy_qd1", "direct", t[0]);
	emit("copy_qd16", "direct", d);
	emit("copy_qd1", "syslet", t[1]);
	emit("copy_qd16", "syslet", t[3]);
	if (HAVE_URING) {
		emit("copy_qd1", "io_uring", t[2]);
		emit("copy_qd16", "io_uring", t[4]);
	}
	unlink(SRC);
	unlink(DST);
	return 0;
}
