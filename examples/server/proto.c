// SPDX-License-Identifier: GPL-2.0
/*
 * One connection of the file server (proto.h). srv_serve() may run in a
 * threadlet that blocks and finishes in another thread: it makes only
 * raw system calls (syslet_raw_syscall6(), which leaves errno alone),
 * formats numbers by hand and touches nothing but its srv_conn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslet.h>

#include "proto.h"

static long sys(long nr, long a, long b, long c, long d)
{
	return syslet_raw_syscall6(nr, a, b, c, d, 0, 0);
}

/* Sends all of p: 0, or -errno (-EPIPE, -ECONNRESET: the client left). */
static long send_all(int sock, const char *p, long n)
{
	while (n > 0) {
		long r = syslet_raw_syscall6(__NR_sendto, sock, (long)p, n, MSG_NOSIGNAL, 0, 0);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		p += r;
		n -= r;
	}
	return 0;
}

static long answer_error(struct srv_conn *c, const char *line, long status)
{
	return send_all(c->sock, line, strlen(line)) ? SRV_ABORTED : status;
}

/* "OK <size>\n" into out; its length. */
static int ok_line(char *out, unsigned long size)
{
	char digits[24];
	int n = 0, len;

	do {
		digits[n++] = '0' + size % 10;
		size /= 10;
	} while (size);
	memcpy(out, "OK ", 3);
	for (len = 3; n; )
		out[len++] = digits[--n];
	out[len++] = '\n';
	return len;
}

static int name_ok(const char *name, int len)
{
	if (len < 1 || len > SRV_MAX_NAME || name[0] == '.')
		return 0;
	for (int i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

/* Reads the request line into c->req (NUL instead of '\n'): its length,
 * -EMSGSIZE (no newline in SRV_MAX_REQUEST bytes), -ECONNRESET (end of
 * stream first) or the read's error. */
static long read_request(struct srv_conn *c)
{
	long have = 0, r;

	for (;;) {
		r = sys(__NR_read, c->sock, (long)c->req + have, SRV_MAX_REQUEST - have, 0);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		if (r == 0)
			return -ECONNRESET;
		for (long i = have; i < have + r; i++)
			if (c->req[i] == '\n') {
				c->req[i] = 0;
				return i;
			}
		have += r;
		if (have == SRV_MAX_REQUEST)
			return -EMSGSIZE;
	}
}

long srv_serve(struct srv_conn *c)
{
	struct stat st;
	long len, fd, r, off;
	char head[32];

	c->sent = 0;
	len = read_request(c);
	if (len == -EMSGSIZE)
		return answer_error(c, "ERR EMSGSIZE request too long\n", SRV_BAD_REQUEST);
	if (len < 0)
		return SRV_ABORTED;
	if (len < 4 || memcmp(c->req, "GET ", 4) || !name_ok(c->req + 4, len - 4))
		return answer_error(c, "ERR EINVAL bad request\n", SRV_BAD_REQUEST);
	fd = sys(__NR_openat, c->dirfd, (long)c->req + 4, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd == -ENOENT)
		return answer_error(c, "ERR ENOENT no such file\n", SRV_NOT_FOUND);
	if (fd == -ENXIO || fd == -ELOOP)	/* a socket, a FIFO; a symbolic link */
		return answer_error(c, "ERR EINVAL not a regular file\n", SRV_NOT_FOUND);
	if (fd == -EACCES)
		return answer_error(c, "ERR EACCES permission denied\n", SRV_NOT_FOUND);
	if (fd < 0)
		return answer_error(c, "ERR EIO cannot open the file\n", SRV_FAILED);
	r = sys(__NR_fstat, fd, (long)&st, 0, 0);
	if (r < 0 || !S_ISREG(st.st_mode)) {
		sys(__NR_close, fd, 0, 0, 0);
		return answer_error(c, "ERR EINVAL not a regular file\n",
				    r < 0 ? SRV_FAILED : SRV_NOT_FOUND);
	}
	if (send_all(c->sock, head, ok_line(head, st.st_size))) {
		sys(__NR_close, fd, 0, 0, 0);
		return SRV_ABORTED;
	}
	for (off = 0; off < st.st_size; off += r) {
		r = sys(__NR_pread64, fd, (long)c->buf, SRV_BUF, off);
		if (r <= 0) {
			/* The file shrank or cannot be read: the client sees
			 * a short answer. */
			sys(__NR_close, fd, 0, 0, 0);
			return SRV_FAILED;
		}
		if (send_all(c->sock, c->buf, r))
			break;
		c->sent += r;
	}
	sys(__NR_close, fd, 0, 0, 0);
	return c->sent == st.st_size ? SRV_OK : SRV_ABORTED;
}

long srv_handle(struct srv_conn *c)
{
	long r = srv_serve(c);

	sys(__NR_close, c->sock, 0, 0, 0);
	return r;
}

int srv_populate(const char *dir, unsigned int n, size_t size)
{
	char path[4096];
	unsigned char *buf = malloc(size ? size : 1);
	int fd, err = 0;

	if (!buf)
		return -ENOMEM;
	for (unsigned int k = 0; k < n && !err; k++) {
		for (size_t i = 0; i < size; i++)
			buf[i] = srv_content(k, i);
		snprintf(path, sizeof(path), "%s/f%u", dir, k);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			err = -errno;
			break;
		}
		if (write(fd, buf, size) != (ssize_t)size)
			err = -EIO;
		close(fd);
	}
	free(buf);
	return err;
}
