// SPDX-License-Identifier: GPL-2.0
/*
 * syslet-cp [--mode=syslet|direct|uring] [--qd N] [--pairs N] [--chunk BYTES]
 *           [--stats] SRC DST
 *
 * Copies SRC to DST (created with SRC's permission bits, or truncated),
 * reading SRC with positioned reads until one returns 0: a pipe or a
 * socket as SRC is refused (ESPIPE), a directory fails on its first read
 * (EISDIR). Exit
 * status: 0, 1 on an error (reported on stderr), 2 for bad usage.
 * --stats: the syslet engine's chains, and how many of them went
 * asynchronous, on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy.h"

static void usage(const char *why)
{
	fprintf(stderr, "syslet-cp: %s\n"
		"usage: syslet-cp [--mode=syslet|direct|uring] [--qd N] [--pairs N] "
		"[--chunk BYTES] [--stats] SRC DST\n", why);
	exit(2);
}

static unsigned long number(const char *opt, const char *s, unsigned long min,
			    unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "syslet-cp: %s must be a number from %lu to %lu, not '%s'\n",
			opt, min, max, s);
		exit(2);
	}
	return v;
}

static int fail(const char *what, const char *path, int err)
{
	fprintf(stderr, "syslet-cp: %s %s: %s\n", what, path, strerror(err));
	return 1;
}

static int espipe(const char *src)
{
	fprintf(stderr, "syslet-cp: cannot read %s at an offset (a pipe?): %s\n", src,
		strerror(ESPIPE));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "qd", required_argument, NULL, 'q' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct copy_stats cs = { 0 };
	struct copy_opts o = { .mode = COPY_SYSLET, .qd = 1, .pairs = 4, .chunk = 65536 };
	int stats = 0;
	const char *src, *dst;
	struct stat ss, ds;
	enum copy_op op;
	long long n;
	int c, in, out;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "syslet"))
				o.mode = COPY_SYSLET;
			else if (!strcmp(optarg, "direct"))
				o.mode = COPY_DIRECT;
			else if (!strcmp(optarg, "uring"))
#ifdef EXAMPLES_NO_URING
				usage("--mode=uring: built without liburing");
#else
				o.mode = COPY_URING;
#endif
			else
				usage("--mode must be syslet, direct or uring");
			break;
		case 'q':
			o.qd = number("--qd", optarg, 1, COPY_MAX_QD);
			break;
		case 'p':
			o.pairs = number("--pairs", optarg, 1, COPY_MAX_PAIRS);
			break;
		case 'c':
			o.chunk = number("--chunk", optarg, COPY_MIN_CHUNK, COPY_MAX_CHUNK);
			break;
		case 's':
			stats = 1;
			o.stats = &cs;
			break;
		case 'h':
			usage("copies SRC to DST");
			break;
		default:
			usage("unknown option");
		}
	}
	if (argc - optind != 2)
		usage("SRC and DST are needed, and nothing else");
	src = argv[optind];
	dst = argv[optind + 1];
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &ss))
		return fail("cannot open", src, errno);
	/* io_uring would read a pipe or a socket ignoring the offsets: the
	 * same refusal in every mode (pread and the chains get ESPIPE). */
	if (S_ISFIFO(ss.st_mode) || S_ISSOCK(ss.st_mode))
		return espipe(src);
	/* Not truncated yet: DST may be SRC under another name. */
	out = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, ss.st_mode & 07777);
	if (out < 0 || fstat(out, &ds))
		return fail("cannot create", dst, errno);
	if (ss.st_dev == ds.st_dev && ss.st_ino == ds.st_ino) {
		fprintf(stderr, "syslet-cp: %s and %s are the same file\n", src, dst);
		return 1;
	}
	if (ftruncate(out, 0))
		return fail("cannot truncate", dst, errno);
	n = copy_fd(in, out, &o, &op);
	if (stats)
		fprintf(stderr, "syslet-cp: chains=%lu async=%lu\n", cs.chains, cs.chains_async);
	if (n < 0) {
		if (n == -ESPIPE)
			return espipe(src);
		return fail(op == OP_READ ? "error reading" : op == OP_WRITE ? "error writing" :
			    "cannot copy", op == OP_WRITE ? dst : src, (int)-n);
	}
	if (close(out))
		return fail("error writing", dst, errno);
	return 0;
}
