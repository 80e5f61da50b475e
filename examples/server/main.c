// SPDX-License-Identifier: GPL-2.0
/*
 * threadlet-server: the file server (server.h) and its load generator
 * (client.h) in one run: it makes the files, starts the server on a Unix
 * socket, lets the clients fetch and check them, stops the server and
 * says how every connection ended.
 *
 *   threadlet-server [--mode=threadlet|threads|uring] [--clients N]
 *                    [--requests M] [--files F] [--size BYTES]
 *                    [--slots W] [--dir DIR]
 *
 * Exit status: 0 every request got exactly its file, 1 not, 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "server.h"
#include "threadlet_server.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: threadlet-server [--mode=threadlet|threads|uring] [--clients N]\n"
		   "                        [--requests M] [--files F] [--size BYTES] [--slots W]\n"
		   "                        [--dir DIR]\n");
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "threadlet-server: %s: '%s'\n", what, arg);
	usage(stderr);
	return 2;
}

static int number(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	*v = strtoul(s, &end, 10);
	return errno || *end || *v > max || !*v ? -1 : 0;
}

int ts_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "clients", required_argument, NULL, 'c' },
		{ "requests", required_argument, NULL, 'r' },
		{ "files", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "slots", required_argument, NULL, 'w' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct srv_config cfg = { SRV_THREADLET, NULL, NULL, 16 };
	struct load_config load = { NULL, 4, 100, 16, 16384, 0 };
	char tmp[] = "/tmp/threadlet-server-XXXXXX", sock[4096];
	const char *dir = NULL;
	struct load_stats ls;
	struct srv_stats ss;
	struct server *srv;
	struct timespec t0, t1;
	unsigned long v;
	int opt, err, ret = 1;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (srv_mode_parse(optarg, &cfg.mode))
				return bad("unknown mode (threadlet, threads or uring)", optarg);
			break;
		case 'c':
			if (number(optarg, LOAD_MAX_CLIENTS, &v))
				return bad("clients must be 1..1024", optarg);
			load.clients = v;
			break;
		case 'r':
			if (number(optarg, 1000000, &v))
				return bad("requests must be 1..1000000", optarg);
			load.requests = v;
			break;
		case 'f':
			if (number(optarg, 10000, &v))
				return bad("files must be 1..10000", optarg);
			load.nfiles = v;
			break;
		case 's':
			if (number(optarg, 64 << 20, &v))
				return bad("size must be 1..67108864", optarg);
			load.size = v;
			break;
		case 'w':
			if (number(optarg, SRV_MAX_SLOTS, &v))
				return bad("slots must be 1..1024", optarg);
			cfg.slots = v;
			break;
		case 'd':
			dir = optarg;
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
	if (!dir && !(dir = mkdtemp(tmp))) {
		fprintf(stderr, "threadlet-server: cannot make a directory: %s\n", strerror(errno));
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	cfg.dir = dir;
	cfg.sock_path = load.sock_path = sock;
	err = srv_populate(dir, load.nfiles, load.size);
	if (err) {
		fprintf(stderr, "threadlet-server: cannot make the files in %s: %s\n", dir,
			strerror(-err));
		goto out;
	}
	err = srv_start(&cfg, &srv);
	if (err) {
		fprintf(stderr, "threadlet-server: cannot start the server on %s: %s\n", sock,
			strerror(-err));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = load_run(&load, &ls);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (srv_stop(srv, &ss)) {
		fprintf(stderr, "threadlet-server: cannot stop the server\n");
		goto out;
	}
	printf("threadlet-server: %s, %u client%s x %u requests of %zu bytes: %lu ok, %lu failed "
	       "in %.3f s; server: %lu served, %lu bad, %lu not found, %lu aborted, %lu failed; "
	       "%lu threadlets inline, %lu async\n",
	       srv_mode_name(cfg.mode), load.clients, load.clients == 1 ? "" : "s",
	       load.requests, load.size, ls.ok, ls.failed,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ss.status[SRV_OK], ss.status[SRV_BAD_REQUEST], ss.status[SRV_NOT_FOUND],
	       ss.status[SRV_ABORTED], ss.status[SRV_FAILED], ss.inline_runs, ss.async_runs);
	if (ss.loop_error)
		fprintf(stderr, "threadlet-server: the server loop failed: %s\n",
			strerror(-ss.loop_error));
	if (err)
		fprintf(stderr, "threadlet-server: %s\n", ls.first_error);
	ret = err || ss.loop_error || ss.status[SRV_OK] != ls.ok ? 1 : 0;
out:
	if (dir == tmp) {
		for (unsigned int k = 0; k < load.nfiles; k++) {
			snprintf(sock, sizeof(sock), "%s/f%u", dir, k);
			unlink(sock);
		}
		rmdir(dir);
	}
	return ret;
}
