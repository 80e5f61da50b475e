/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The file server's io_uring shape (SRV_URING): one thread, one ring,
 * every connection a chain of operations (accept, recv, openat, statx,
 * send, read, send, ...) driven by their completions. Private to
 * server.c.
 */
#ifndef SRV_SERVER_URING_H
#define SRV_SERVER_URING_H

#include "server.h"

struct srv_uring;

/* Makes the ring, in the thread that will run srv_uring_loop() (a ring's
 * maker gets an io_uring context, which stops threadlet handoffs: the
 * loop thread is the one to carry it). 0 or -errno. */
int srv_uring_init(struct srv_uring **out, int lsock, int dirfd, int stopfd,
		   unsigned int slots, struct srv_stats *stats);
/* Serves until stopfd is readable and every connection made before that
 * is served, then frees the ring. */
void srv_uring_loop(struct srv_uring *u);

#endif
