/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The load generator: `clients` threads, each making `requests`
 * requests of the files srv_populate() made (one connection each) and
 * checking every byte of every answer.
 */
#ifndef SRV_CLIENT_H
#define SRV_CLIENT_H

#include <stddef.h>

struct load_config {
	const char *sock_path;
	unsigned int clients, requests, nfiles;
	size_t size;			/* of each file */
	unsigned int delay_us;		/* between connecting and sending */
};

struct load_stats {
	unsigned long ok, failed;
	unsigned long bytes;
	char first_error[160];		/* what the first failure was */
};

#define LOAD_MAX_CLIENTS 1024

/* 0 when every request got exactly its file, else -1 (see stats). */
int load_run(const struct load_config *cfg, struct load_stats *stats);

/*
 * One connection: sends req (len bytes) delay_us after connecting (the
 * connection is then shut down for writing if shut_wr), reads the answer into resp (up to cap
 * bytes, until the server closes). The answer's length, or -errno.
 */
long srv_request(const char *sock_path, const char *req, size_t len, unsigned int delay_us,
		 int shut_wr, char *resp, size_t cap);
/* A connected socket, or -errno. */
int srv_connect(const char *sock_path);

#endif
