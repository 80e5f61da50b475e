// SPDX-License-Identifier: GPL-2.0
/* The load generator (client.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "client.h"
#include "proto.h"

int srv_connect(const char *sock_path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sock_path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

long srv_request(const char *sock_path, const char *req, size_t len, unsigned int delay_us,
		 int shut_wr, char *resp, size_t cap)
{
	long got = 0, r;
	int fd = srv_connect(sock_path);

	if (fd < 0)
		return fd;
	if (delay_us)
		usleep(delay_us);
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		r = -errno;
		goto out;
	}
	if (shut_wr)
		shutdown(fd, SHUT_WR);
	while ((size_t)got < cap) {
		r = read(fd, resp + got, cap - got);
		if (r < 0 && got && errno == ECONNRESET)
			break;	/* the server closed with our request unread */
		if (r < 0) {
			r = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += r;
	}
	r = got;
out:
	close(fd);
	return r;
}

struct client {
	const struct load_config *cfg;
	unsigned int id;
	unsigned long ok, failed, bytes;
	char error[160];
	pthread_t th;
};

/* Checks an answer for file k: NULL, or what is wrong. */
static const char *check(const char *resp, long n, unsigned int k, size_t size, char *why,
			 size_t whylen)
{
	char head[32];
	int hl = snprintf(head, sizeof(head), "OK %zu\n", size);

	if (n < hl || memcmp(resp, head, hl)) {
		snprintf(why, whylen, "f%u: bad header '%.20s'", k, n > 0 ? resp : "");
		return why;
	}
	if ((size_t)(n - hl) != size) {
		snprintf(why, whylen, "f%u: %ld bytes, expected %zu", k, n - hl, size);
		return why;
	}
	for (size_t i = 0; i < size; i++)
		if ((unsigned char)resp[hl + i] != srv_content(k, i)) {
			snprintf(why, whylen, "f%u: byte %zu wrong", k, i);
			return why;
		}
	return NULL;
}

static void *client(void *arg)
{
	struct client *c = arg;
	const struct load_config *cfg = c->cfg;
	size_t cap = cfg->size + 64;
	char *resp = malloc(cap), req[32], why[128];
	long n;

	for (unsigned int i = 0; i < cfg->requests; i++) {
		unsigned int k = (c->id * 7 + i) % cfg->nfiles;
		int len = snprintf(req, sizeof(req), "GET f%u\n", k);

		n = resp ? srv_request(cfg->sock_path, req, len, cfg->delay_us, 0, resp, cap) : -ENOMEM;
		if (n < 0) {
			snprintf(why, sizeof(why), "f%u: %s", k, strerror((int)-n));
		} else if (!check(resp, n, k, cfg->size, why, sizeof(why))) {
			c->ok++;
			c->bytes += cfg->size;
			continue;
		}
		if (!c->failed++)
			snprintf(c->error, sizeof(c->error), "client %u request %u: %s", c->id, i, why);
	}
	free(resp);
	return NULL;
}

int load_run(const struct load_config *cfg, struct load_stats *stats)
{
	struct client *cl;
	unsigned int started = 0;

	memset(stats, 0, sizeof(*stats));
	if (!cfg->clients || cfg->clients > LOAD_MAX_CLIENTS || !cfg->nfiles) {
		snprintf(stats->first_error, sizeof(stats->first_error), "bad load configuration");
		return -1;
	}
	cl = calloc(cfg->clients, sizeof(*cl));
	if (!cl) {
		snprintf(stats->first_error, sizeof(stats->first_error), "out of memory");
		return -1;
	}
	for (unsigned int i = 0; i < cfg->clients; i++, started++) {
		cl[i].cfg = cfg;
		cl[i].id = i;
		if (pthread_create(&cl[i].th, NULL, client, &cl[i])) {
			snprintf(stats->first_error, sizeof(stats->first_error),
				 "cannot start client %u", i);
			stats->failed++;
			break;
		}
	}
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(cl[i].th, NULL);
		stats->ok += cl[i].ok;
		stats->failed += cl[i].failed;
		stats->bytes += cl[i].bytes;
		if (cl[i].failed && !stats->first_error[0])
			memcpy(stats->first_error, cl[i].error, sizeof(cl[i].error));
	}
	free(cl);
	return stats->failed || stats->ok != (unsigned long)cfg->clients * cfg->requests ? -1 : 0;
}
