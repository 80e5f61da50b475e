// SPDX-License-Identifier: GPL-2.0
/*
 * treewalk-bench [DIRS [FILES]]: walks a cached tree of DIRS directories
 * of FILES files each (default 100 x 100: 10,100 entries), built on
 * /tmp (tmpfs in the guest), with each engine at queue depth 1 and 16:
 *
 *   direct    getdents64 + one statx per entry (no queue depth: the same
 *             figure is given for both metrics)
 *   syslet    libsyslet chains (a directory's statx calls in one chain)
 *   io_uring  getdents64 direct, statx through io_uring
 *
 * ROUNDS (9) rounds, the engines interleaved within each; the median
 * round of each is reported, in ns per entry, as the benchmarks
 * treewalk_qd1 and treewalk_qd16. Every walk's counts are checked
 * against the tree that was built, so a walk that skipped work fails the
 * benchmark. The io_uring walks run in a thread of their own: a task
 * that has an io_uring does not get the syslet cachemiss handoff.
 * Also reported: the share of the syslet chains that went asynchronous
 * (from /proc/self/syslet; 0 when every chain ran inline, which is the
 * design on a cached tree). Built without liburing, the io_uring
 * variants are left out. JSON lines on stdout, as
 * tools/bench/chain-bench.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "walk.h"

#define ROUNDS 9
#ifdef EXAMPLES_NO_URING
#define HAVE_URING 0
#else
#define HAVE_URING 1
#endif
#define ROOT "/tmp/treewalk-bench"

static struct walk_stats expect;

static void die(const char *what, int err)
{
	fprintf(stderr, "treewalk-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void build_tree(unsigned int dirs, unsigned int files)
{
	char path[256];
	unsigned int d, f;
	static char data[100];

	if (mkdir(ROOT, 0755) && errno != EEXIST)
		die("mkdir " ROOT, errno);
	memset(&expect, 0, sizeof(expect));
	for (d = 0; d < dirs; d++) {
		snprintf(path, sizeof(path), ROOT "/dir%04u", d);
		if (mkdir(path, 0755))
			die(path, errno);
		expect.dirs++;
		for (f = 0; f < files; f++) {
			unsigned int size = (d + f) % 100;
			int fd;

			snprintf(path, sizeof(path), ROOT "/dir%04u/file-%05u", d, f);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd))
				die(path, errno);
			expect.files++;
			expect.bytes += size;
		}
	}
	expect.entries = expect.dirs + expect.files;
}

struct job {
	struct walk_opts o;
	double ns;
};

static void *timed_walk(void *arg)
{
	struct job *j = arg;
	struct walk_stats st;
	double t = now_ns();
	int err = walk_tree(ROOT, &j->o, &st);

	j->ns = now_ns() - t;
	if (err)
		die("walk", -err);
	if (st.entries != expect.entries || st.dirs != expect.dirs ||
	    st.files != expect.files || st.symlinks != expect.symlinks ||
	    st.other != expect.other || st.bytes != expect.bytes || st.errors ||
	    (j->o.mode == WALK_SYSLET) != (st.chains > 0))
		die("a walk's counts differ from the tree built", EPROTO);
	return NULL;
}

/* The uring walks in a fresh thread each (see above). */
static double walk(enum walk_mode mode, unsigned int qd)
{
	struct job j = { .o = { .mode = mode, .qd = qd, .batch = 256, .quiet = 1 } };
	pthread_t t;
	int err;

	if (mode != WALK_URING) {
		timed_walk(&j);
		return j.ns;
	}
	err = pthread_create(&t, NULL, timed_walk, &j);
	if (err || (err = pthread_join(t, NULL)))
		die("pthread", err);
	return j.ns;
}

/* A counter of /proc/self/syslet (Documentation/syslets.md). */
static double syslet_counter(const char *name)
{
	FILE *f = fopen("/proc/self/syslet", "r");
	char key[64];
	double v, found = -1;

	if (!f)
		die("/proc/self/syslet", errno);
	while (fscanf(f, "%63s %lf", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	if (found < 0)
		die(name, ENOENT);
	return found;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void emit(const char *bench, const char *variant, double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp);
	printf("{\"benchmark\":\"%s\",\"variant\":\"%s\",\"metric\":\"ns_per_entry\","
	       "\"value\":%.1f,\"unit\":\"ns\"}\n", bench, variant,
	       v[ROUNDS / 2] / expect.entries);
}

int main(int argc, char **argv)
{
	unsigned int dirs = argc > 1 ? atoi(argv[1]) : 100, files = argc > 2 ? atoi(argv[2]) : 100;
	static const struct { enum walk_mode mode; unsigned int qd; } v[5] = {
		{ WALK_DIRECT, 1 }, { WALK_SYSLET, 1 }, { WALK_URING, 1 },
		{ WALK_SYSLET, 16 }, { WALK_URING, 16 },
	};
	double t[5][ROUNDS], d[ROUNDS], chains, async;
	int r, i, k;

	if (!dirs || !files)
		die("DIRS and FILES must be positive", EINVAL);
	if (system("rm -rf " ROOT))
		die("rm -rf " ROOT, EIO);
	build_tree(dirs, files);
	for (i = 0; i < 5; i++)	/* warm the caches, check every engine once */
		if (HAVE_URING || v[i].mode != WALK_URING)
			walk(v[i].mode, v[i].qd);
	chains = syslet_counter("chains");
	async = syslet_counter("chains_async");
	/* The order rotates from round to round, so that what one variant
	 * leaves behind (io_uring's workers and ring teardown) does not
	 * always fall on the same next one. */
	for (r = 0; r < ROUNDS; r++)
		for (k = 0; k < 5; k++) {
			i = (k + r) % 5;
			if (HAVE_URING || v[i].mode != WALK_URING)
				t[i][r] = walk(v[i].mode, v[i].qd);
		}
	chains = syslet_counter("chains") - chains;
	async = syslet_counter("chains_async") - async;
	if (chains < 1)
		die("the syslet walks ran no chain", EPROTO);
	memcpy(d, t[0], sizeof(d));
	emit("treewalk_qd1", "direct", t[0]);
	emit("treewalk_qd16", "direct", d);
	emit("treewalk_qd1", "syslet", t[1]);
	emit("treewalk_qd16", "syslet", t[3]);
	if (HAVE_URING) {
		emit("treewalk_qd1", "io_uring", t[2]);
		emit("treewalk_qd16", "io_uring", t[4]);
	}
	printf("{\"benchmark\":\"treewalk\",\"variant\":\"syslet\",\"metric\":\"chains_async_pct\","
	       "\"value\":%.1f,\"unit\":\"%%\"}\n", 100 * async / chains);
	if (system("rm -rf " ROOT))
		die("rm -rf " ROOT, EIO);
	return 0;
}
