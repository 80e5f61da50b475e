// SPDX-License-Identifier: GPL-2.0
/*
 * threadlet-server-bench: the file server's two shapes side by side on a
 * Unix socket, 1 and 16 clients (each with one request in flight: queue
 * depth 1 and 16):
 *
 *   server_qd1    one client, REQUESTS requests of a 4 KiB file
 *   server_qd16   16 clients, REQUESTS / 16 requests each
 *
 * variants threads (a pool of 16 worker threads; the baseline),
 * threadlet (16 threadlet slots) and uring (one thread, an io_uring, 16
 * connections at once); ns per request, the best of ROUNDS
 * rounds, the variants interleaved (their order rotating) in every round.
 * Every answer's bytes are checked and the server's counts must match.
 * A third benchmark, server_late_qd16, sends each request 1 ms after
 * connecting: a handler that starts before its request is there blocks
 * in its read (the threadlet goes asynchronous), which is where a
 * threadlet costs a thread switch. For each benchmark, the share of the
 * threadlets that went asynchronous (metric async_share).
 *
 *   threadlet-server-bench [REQUESTS]
 *
 * JSON lines on stdout, in the format of tools/bench/chain-bench.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "server.h"

#define ROUNDS 7
#define FILES 16
#define SIZE 4096

static char dir[] = "/tmp/server-bench-XXXXXX";
static char sock[64];
/* Each benchmark's last threadlet run: the share that went asynchronous. */
static double async_share[3];

static void die(const char *what)
{
	fprintf(stderr, "threadlet-server-bench: %s\n", what);
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One run: ns per request. */
static double run(enum srv_mode mode, unsigned int clients, unsigned long requests,
		  unsigned int delay_us, double *share)
{
	struct srv_config cfg = { mode, dir, sock, 16 };
	struct load_config load = { sock, clients, requests / clients, FILES, SIZE, delay_us };
	unsigned long total = load.clients * load.requests;
	struct load_stats ls;
	struct srv_stats ss;
	struct server *srv;
	double t;
	int err;

	if (srv_start(&cfg, &srv))
		die("cannot start the server");
	t = now_ns();
	err = load_run(&load, &ls);
	t = now_ns() - t;
	if (srv_stop(srv, &ss))
		die("cannot stop the server");
	if (err || ls.ok != total || ss.status[SRV_OK] != total || ss.loop_error ||
	    ls.bytes != total * SIZE) {
		fprintf(stderr, "threadlet-server-bench: %s, %u clients: %lu ok, %lu served: %s\n",
			srv_mode_name(mode), clients, ls.ok, ss.status[SRV_OK], ls.first_error);
		die("a run went wrong");
	}
	if (mode == SRV_THREADLET && ss.inline_runs + ss.async_runs != total)
		die("the threadlets do not add up");
	/* Late requests: handlers blocked in their read (how many depends
	 * on how soon the loop accepts; some always do). */
	if (mode == SRV_THREADLET && delay_us && !ss.async_runs)
		die("late requests did not make any threadlet asynchronous");
	if (mode == SRV_THREADLET)
		*share = (double)ss.async_runs / total;
	return t / total;
}

int main(int argc, char **argv)
{
	static const unsigned int clients[] = { 1, 16 };
	static const enum srv_mode modes[] = { SRV_THREADS, SRV_THREADLET, SRV_URING };
	unsigned long requests = argc > 1 ? strtoul(argv[1], NULL, 10) : 1600;
	double best[3][3];

	if (requests < 64 || requests % 64)
		die("REQUESTS must be a multiple of 64");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	if (srv_populate(dir, FILES, SIZE))
		die("cannot make the files");
	for (int q = 0; q < 3; q++)
		for (int m = 0; m < 3; m++)
			best[q][m] = 1e30;
	for (int r = 0; r < ROUNDS; r++)
		for (int q = 0; q < 3; q++)
			for (int m = 0; m < 3; m++) {
				int mm = (m + r) % 3;
				/* q 2: 16 late clients, a quarter of the requests. */
				double ns = q < 2 ? run(modes[mm], clients[q], requests, 0,
							&async_share[q])
						  : run(modes[mm], 16, requests / 4, 1000,
							&async_share[q]);

				if (ns < best[q][mm])
					best[q][mm] = ns;
			}
	for (int q = 0; q < 3; q++)
		for (int m = 0; m < 3; m++)
			printf("{\"benchmark\":\"%s\",\"variant\":\"%s\","
			       "\"metric\":\"ns_per_request\",\"value\":%.1f,\"unit\":\"ns\"}\n",
			       q == 0 ? "server_qd1" : q == 1 ? "server_qd16" : "server_late_qd16",
			       srv_mode_name(modes[m]), best[q][m]);
	for (int q = 0; q < 3; q++)
		printf("{\"benchmark\":\"%s\",\"variant\":\"threadlet\","
		       "\"metric\":\"async_share\",\"value\":%.2f,\"unit\":\"ratio\"}\n",
		       q == 0 ? "server_qd1" : q == 1 ? "server_qd16" : "server_late_qd16",
		       async_share[q]);
	for (unsigned int k = 0; k < FILES; k++) {
		char p[96];

		snprintf(p, sizeof(p), "%s/f%u", dir, k);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}
