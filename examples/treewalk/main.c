// SPDX-License-Identifier: GPL-2.0
/*
 * syslet-treewalk [--mode=syslet|direct|uring] [--qd N] [--batch N] [--quiet]
 *                 [--stats] DIR
 *
 * Prints one line: the entries below DIR, by type, and the bytes of its
 * regular files. Exit status: 0, 1 when DIR could not be walked or some
 * entry could not be read (reported on stderr; the counts of the rest
 * are printed), 2 for bad usage. --stats: the syslet engine's chains, and
 * how many of them went asynchronous, on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

static void usage(const char *why)
{
	fprintf(stderr, "syslet-treewalk: %s\n"
		"usage: syslet-treewalk [--mode=syslet|direct|uring] [--qd N] [--batch N] "
		"[--quiet] [--stats] DIR\n", why);
	exit(2);
}

static unsigned int number(const char *opt, const char *s, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > max) {
		fprintf(stderr, "syslet-treewalk: %s must be a number from 1 to %u, not '%s'\n",
			opt, max, s);
		exit(2);
	}
	return (unsigned int)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "qd", required_argument, NULL, 'q' },
		{ "batch", required_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct walk_opts o = { .mode = WALK_SYSLET, .qd = 1, .batch = 256 };
	struct walk_stats st;
	int c, err, stats = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "syslet"))
				o.mode = WALK_SYSLET;
			else if (!strcmp(optarg, "direct"))
				o.mode = WALK_DIRECT;
			else if (!strcmp(optarg, "uring"))
#ifdef EXAMPLES_NO_URING
				usage("--mode=uring: built without liburing");
#else
				o.mode = WALK_URING;
#endif
			else
				usage("--mode must be syslet, direct or uring");
			break;
		case 'q':
			o.qd = number("--qd", optarg, WALK_MAX_QD);
			break;
		case 'b':
			o.batch = number("--batch", optarg, WALK_MAX_BATCH);
			break;
		case 'Q':
			o.quiet = 1;
			break;
		case 's':
			stats = 1;
			break;
		case 'h':
			usage("walks DIR and counts what is in it");
			break;
		default:
			usage("unknown option");
		}
	}
	if (optind != argc - 1)
		usage(optind == argc ? "no directory given" : "one directory only");
	err = walk_tree(argv[optind], &o, &st);
	if (err) {
		fprintf(stderr, "syslet-treewalk: %s: %s\n", argv[optind], strerror(-err));
		return 1;
	}
	printf("entries=%" PRIu64 " dirs=%" PRIu64 " files=%" PRIu64 " symlinks=%" PRIu64
	       " other=%" PRIu64 " bytes=%" PRIu64 "\n", st.entries, st.dirs, st.files,
	       st.symlinks, st.other, st.bytes);
	if (stats)
		fprintf(stderr, "syslet-treewalk: chains=%" PRIu64 " async=%" PRIu64 "\n",
			st.chains, st.chains_async);
	if (st.errors) {
		fprintf(stderr, "syslet-treewalk: %" PRIu64 " entries could not be read\n",
			st.errors);
		return 1;
	}
	return 0;
}
