/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The file server (proto.h) on a Unix stream socket, in two shapes:
 *
 *   SRV_THREADLET  one loop accepts; each connection's handler starts as
 *                  a threadlet on a stack of a fixed pool of slots: it
 *                  runs inline in the loop when nothing blocks, and only
 *                  when it blocks (a request not there yet, a full
 *                  socket) does the loop go on in another thread while
 *                  the handler finishes
 *   SRV_THREADS    one loop accepts and queues; a pool of worker threads
 *                  runs the handlers
 *   SRV_URING      one thread and an io_uring: each connection a chain of
 *                  operations driven by their completions, up to `slots`
 *                  connections at once (server_uring.c)
 *
 * srv_start() runs the loop in a thread of its own (a threadlet's caller
 * must not be the process's first thread, whose context, once it moved,
 * never comes back to it); srv_stop() ends it after every connection
 * accepted so far has been served, and joins every thread it made.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include "proto.h"

enum srv_mode { SRV_THREADLET, SRV_THREADS, SRV_URING };

#define SRV_MAX_SLOTS	1024

struct srv_config {
	enum srv_mode mode;
	const char *dir;		/* the files served */
	const char *sock_path;		/* created; unlinked by srv_stop() */
	unsigned int slots;		/* threadlets in flight / worker threads /
					 * connections in the ring */
};

struct srv_stats {
	unsigned long status[SRV_NSTATUS];	/* connections, by how they ended */
	unsigned long inline_runs;		/* threadlets that never blocked */
	unsigned long async_runs;		/* threadlets that went asynchronous */
	unsigned long bytes;			/* file content sent */
	int loop_error;				/* the loop's first failure, -errno */
};

struct server;

const char *srv_mode_name(enum srv_mode mode);
int srv_mode_parse(const char *s, enum srv_mode *mode);
/* 0 with *out, or -errno (-EINVAL: bad configuration; the socket's or
 * the directory's errors). */
int srv_start(const struct srv_config *cfg, struct server **out);
/* Stops, joins, frees; the counts (if stats is not NULL). 0 or -errno. */
int srv_stop(struct server *srv, struct srv_stats *stats);

#endif
