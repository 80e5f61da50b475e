/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The file server's protocol, one request per connection:
 *
 *   request   GET <name>\n      name: 1..64 of [A-Za-z0-9._-], not
 *                               starting with '.'
 *   answer    OK <size>\n<size bytes of the file>
 *             ERR <ERRNO> <text>\n
 *
 * then the server closes the connection. The files the load generator
 * asks for are made by srv_populate(): byte i of file k is
 * srv_content(k, i), so a client can check every byte it gets.
 */
#ifndef SRV_PROTO_H
#define SRV_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SRV_MAX_REQUEST	128
#define SRV_MAX_NAME	64
#define SRV_BUF		(64 * 1024)

/* What serving one connection came to. */
enum srv_status {
	SRV_OK,			/* the whole file was sent */
	SRV_BAD_REQUEST,	/* ERR EINVAL / EMSGSIZE sent */
	SRV_NOT_FOUND,		/* ERR ENOENT (or another open error) sent */
	SRV_ABORTED,		/* the client went away mid-request */
	SRV_FAILED,		/* the server's own call failed (read, fstat) */
	SRV_NSTATUS
};

/* One connection, everything its handler touches: the handler makes raw
 * system calls only and uses no thread-local state (a threadlet may
 * finish it in another thread). */
struct srv_conn {
	int sock;
	int dirfd;
	long sent;		/* bytes of file content sent */
	char req[SRV_MAX_REQUEST];
	char buf[SRV_BUF];
};

/* Serves one request on c->sock (does not close it): an srv_status. */
long srv_serve(struct srv_conn *c);
/* srv_serve(), then closes c->sock: what a server's handler runs. */
long srv_handle(struct srv_conn *c);

static inline unsigned char srv_content(unsigned int file, uint64_t i)
{
	return (unsigned char)(file * 251 + i * 31 + (i >> 9));
}

/* Makes files f0..f<n-1> of size bytes in dir: 0 or -errno. */
int srv_populate(const char *dir, unsigned int n, size_t size);

#endif
