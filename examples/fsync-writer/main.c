// SPDX-License-Identifier: GPL-2.0
/*
 * fsync-writer: a journal writer. qd streams each append records and
 * fsync() every few of them, through direct system calls, libsyslet
 * chains or io_uring; then every file is read back and checked.
 *
 *   fsync-writer [--mode=syslet|direct|uring] [--qd N] [--records N]
 *                [--size BYTES] [--every K] [--dir DIR | --fd FD]
 *                [--no-verify] [--quiet]
 *
 * Exit status: 0 written and verified, 1 a call failed or a file is
 * wrong (one line on stderr says which stream, record and call), 2 bad
 * usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsync_writer.h"
#include "record.h"
#include "writer.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: fsync-writer [--mode=syslet|direct|uring] [--qd N] [--records N]\n"
		   "                    [--size BYTES] [--every K] [--dir DIR | --fd FD]\n"
		   "                    [--no-verify] [--quiet]\n");
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "fsync-writer: %s: '%s'\n", what, arg);
	usage(stderr);
	return 2;
}

static int number(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	*v = strtoull(s, &end, 10);
	return errno || *end || *v > max ? -1 : 0;
}

static const char *errname(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "?";
}

int fw_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "qd", required_argument, NULL, 'q' },
		{ "records", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "every", required_argument, NULL, 'e' },
		{ "dir", required_argument, NULL, 'd' },
		{ "fd", required_argument, NULL, 'f' },
		{ "no-verify", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct fw_config cfg = { FW_SYSLET, 1, 1000, 512, 8 };
	const char *dir = ".", *why;
	int fds[FW_MAX_QD], given_fd = -1, verify = 1, quiet = 0, opt, ret = 1;
	unsigned long long v;
	char path[PATH_MAX], msg[256];
	struct fw_failure fail;
	struct fw_stats stats;
	struct timespec t0, t1;
	unsigned int s, opened = 0;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (fw_mode_parse(optarg, &cfg.mode))
				return bad("unknown mode (syslet, direct or uring)", optarg);
			break;
		case 'q':
			if (number(optarg, FW_MAX_QD, &v) || !v)
				return bad("queue depth must be 1..256", optarg);
			cfg.qd = v;
			break;
		case 'r':
			if (number(optarg, 1ULL << 40, &v) || !v)
				return bad("records must be a number above 0", optarg);
			cfg.records = v;
			break;
		case 's':
			if (number(optarg, FW_MAX_RECORD, &v) || v < FW_MIN_RECORD)
				return bad("record size must be 24..1048576", optarg);
			cfg.rec_size = v;
			break;
		case 'e':
			if (number(optarg, FW_MAX_EVERY, &v) || !v)
				return bad("fsync interval must be 1..1024", optarg);
			cfg.every = v;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'f':
			if (number(optarg, INT_MAX, &v))
				return bad("not a descriptor number", optarg);
			given_fd = v;
			break;
		case 'n':
			verify = 0;
			break;
		case 'Q':
			quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return bad("unexpected argument", argv[optind]);
	if (given_fd >= 0 && cfg.qd != 1)
		return bad("--fd writes one stream: --qd must be 1", "--fd");
	if (fw_config_check(&cfg, &why)) {
		fprintf(stderr, "fsync-writer: %s\n", why);
		return 2;
	}

	for (s = 0; s < cfg.qd; s++, opened++) {
		if (given_fd >= 0) {
			fds[s] = given_fd;
			snprintf(path, sizeof(path), "descriptor %d", given_fd);
			continue;
		}
		snprintf(path, sizeof(path), "%s/journal.%u", dir, s);
		fds[s] = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fds[s] < 0) {
			fprintf(stderr, "fsync-writer: cannot create %s: %s (%s)\n", path,
				strerror(errno), errname(errno));
			goto out;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fw_write(&cfg, fds, &fail, &stats)) {
		if (given_fd < 0)
			snprintf(path, sizeof(path), "%s/journal.%u", dir, fail.stream);
		fprintf(stderr, "fsync-writer: %s: stream %u (%s), record %llu: %s: %s (%s)\n",
			fw_mode_name(cfg.mode), fail.stream, path,
			(unsigned long long)fail.record, fail.call, strerror(fail.err),
			errname(fail.err));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (s = 0; verify && s < cfg.qd; s++) {
		if (given_fd >= 0 && (fcntl(given_fd, F_GETFL) & O_ACCMODE) != O_RDWR) {
			verify = -1;	/* write-only: cannot read it back */
			break;
		}
		if (fw_verify_fd(fds[s], cfg.rec_size, s, cfg.records, msg, sizeof(msg))) {
			fprintf(stderr, "fsync-writer: %s: stream %u is wrong: %s\n",
				fw_mode_name(cfg.mode), s, msg);
			goto out;
		}
	}
	if (!quiet)
		printf("fsync-writer: %s, %u stream%s x %llu records of %u bytes, fsync every %u: "
		       "%llu writes, %llu fsyncs (%llu of %llu chains async) in %.3f s, %s\n",
		       fw_mode_name(cfg.mode), cfg.qd, cfg.qd == 1 ? "" : "s",
		       (unsigned long long)cfg.records, cfg.rec_size, cfg.every,
		       (unsigned long long)stats.writes, (unsigned long long)stats.fsyncs,
		       (unsigned long long)stats.chains_async, (unsigned long long)stats.chains,
		       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		       verify > 0 ? "verified" : verify < 0 ? "not verified (write-only descriptor)"
						   : "not verified");
	ret = 0;
out:
	for (s = 0; given_fd < 0 && s < opened; s++)
		close(fds[s]);
	return ret;
}
