// SPDX-License-Identifier: GPL-2.0
/*
 * fsync-writer-bench: the journal writer's three modes side by side, on
 * tmpfs, at queue depth 1 and 16:
 *
 *   fsync_writer_qd1   one stream, RECORDS records of 512 bytes, fsync
 *                      every 8
 *   fsync_writer_qd16  16 streams, RECORDS / 16 records each
 *
 * variants direct (pwrite + fsync), syslet (one chain per batch) and
 * io_uring (a link per batch); ns per record, the best of ROUNDS rounds,
 * the variants interleaved in every round. Every run's files are read
 * back and checked before its time counts. io_uring runs in a thread of
 * its own: a task with an io_uring context never hands a chain off.
 *
 *   fsync-writer-bench [DIR [RECORDS]]   (DIR: a tmpfs, default /dev/shm;
 *                                        RECORDS: default 8192)
 *
 * JSON lines on stdout, in the format of tools/bench/chain-bench.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include "record.h"
#include "writer.h"

#define ROUNDS 9
#define REC 512
#define EVERY 8

static const char *dir = "/dev/shm";

static void die(const char *what)
{
	fprintf(stderr, "fsync-writer-bench: %s\n", what);
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct job {
	struct fw_config cfg;
	int fds[16];
	double ns;
	int err;
};

static void *timed(void *arg)
{
	struct job *j = arg;
	struct fw_failure fail;
	struct fw_stats st;
	double t = now_ns();

	j->err = fw_write(&j->cfg, j->fds, &fail, &st);
	j->ns = now_ns() - t;
	if (!j->err && (st.writes != j->cfg.qd * j->cfg.records ||
			st.fsyncs != j->cfg.qd * ((j->cfg.records + EVERY - 1) / EVERY)))
		j->err = -EPROTO;
	if (j->err)
		fprintf(stderr, "fsync-writer-bench: %s qd %u: stream %u record %llu: %s: %s\n",
			fw_mode_name(j->cfg.mode), j->cfg.qd, fail.stream,
			(unsigned long long)fail.record, fail.call, strerror(fail.err));
	return NULL;
}

/* One run: fresh files, the write (timed), the check. ns per record. */
static double run(enum fw_mode mode, unsigned int qd, unsigned long records)
{
	struct job j = { .cfg = { mode, qd, records / qd, REC, EVERY } };
	char path[256], why[256];
	pthread_t th;
	unsigned int s;

	for (s = 0; s < qd; s++) {
		snprintf(path, sizeof(path), "%s/fw-bench.%u", dir, s);
		j.fds[s] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (j.fds[s] < 0)
			die("cannot create a file in the directory");
		unlink(path);
	}
	if (mode == FW_URING) {
		if (pthread_create(&th, NULL, timed, &j) || pthread_join(th, NULL))
			die("pthread");
	} else {
		timed(&j);
	}
	if (j.err)
		die("a run failed");
	for (s = 0; s < qd; s++) {
		if (fw_verify_fd(j.fds[s], REC, s, j.cfg.records, why, sizeof(why))) {
			fprintf(stderr, "fsync-writer-bench: %s qd %u stream %u: %s\n",
				fw_mode_name(mode), qd, s, why);
			die("a file is wrong");
		}
		close(j.fds[s]);
	}
	return j.ns / records;
}

int main(int argc, char **argv)
{
	static const unsigned int qds[] = { 1, 16 };
	static const enum fw_mode modes[] = { FW_DIRECT, FW_SYSLET, FW_URING };
	static const char *const variant[] = { "direct", "syslet", "io_uring" };
	unsigned long records = 8192;
	double best[2][3];
	struct statfs sf;
	char name[64];

	if (argc > 1)
		dir = argv[1];
	if (argc > 2)
		records = strtoul(argv[2], NULL, 10);
	if (records < 16 || records % (16 * EVERY))
		die("RECORDS must be a multiple of 128");
	if (statfs(dir, &sf) || sf.f_type != TMPFS_MAGIC)
		die("the directory is not on tmpfs");
	for (int q = 0; q < 2; q++)
		for (int m = 0; m < 3; m++)
			best[q][m] = 1e30;
	for (int r = 0; r < ROUNDS; r++)
		for (int q = 0; q < 2; q++)
			for (int m = 0; m < 3; m++) {
				/* Rotate the order: no mode always runs first. */
				int mm = (m + r) % 3;
				double ns = run(modes[mm], qds[q], records);

				if (ns < best[q][mm])
					best[q][mm] = ns;
			}
	for (int q = 0; q < 2; q++)
		for (int m = 0; m < 3; m++) {
			snprintf(name, sizeof(name), "fsync_writer_qd%u", qds[q]);
			printf("{\"benchmark\":\"%s\",\"variant\":\"%s\",\"metric\":\"ns_per_record\","
			       "\"value\":%.1f,\"unit\":\"ns\"}\n", name, variant[m], best[q][m]);
		}
	return 0;
}
