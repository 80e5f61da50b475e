// SPDX-License-Identifier: GPL-2.0
/*
 * The io_uring shape of the file server (server_uring.h): a state
 * machine per connection, one operation of each in flight, all in one
 * ring. The answers are byte for byte those of srv_serve() (proto.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "server_uring.h"

enum op { OP_ACCEPT, OP_STOP, OP_CANCEL, OP_RECV, OP_OPEN, OP_STATX, OP_SEND_HEAD,
	  OP_SEND_ERR, OP_READ, OP_SEND_DATA };

#define UD(slot, op)	(((uint64_t)(slot) << 8) | (op))
#define NO_SLOT		0xffffffu

struct uconn {
	int busy, sock, file;
	long have, size, off, chunk, done;	/* request bytes; file; sending */
	const char *line;			/* an error answer being sent */
	long status;				/* what the connection comes to */
	char head[32];
	struct statx stx;
	struct srv_conn c;			/* the request and the buffer */
};

struct srv_uring {
	struct io_uring ring;
	int lsock, dirfd, stopfd, stopping, accept_armed;
	unsigned int slots, active;
	uint64_t stopval;
	struct srv_stats *stats;
	struct uconn *conns;
};

static struct io_uring_sqe *sqe(struct srv_uring *u)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&u->ring);

	if (!s) {
		/* Full: hand what is queued to the kernel, then there is room
		 * (the ring has two entries per connection). */
		io_uring_submit(&u->ring);
		s = io_uring_get_sqe(&u->ring);
	}
	return s;
}

static void finish(struct srv_uring *u, unsigned int i, long status)
{
	struct uconn *cn = &u->conns[i];

	if (cn->file >= 0)
		close(cn->file);
	close(cn->sock);
	if (status < 0 || status >= SRV_NSTATUS)
		status = SRV_FAILED;
	u->stats->status[status]++;
	u->stats->bytes += cn->c.sent;
	cn->busy = 0;
	u->active--;
}

static void recv_more(struct srv_uring *u, unsigned int i)
{
	struct uconn *cn = &u->conns[i];
	struct io_uring_sqe *s = sqe(u);

	io_uring_prep_recv(s, cn->sock, cn->c.req + cn->have, SRV_MAX_REQUEST - cn->have, 0);
	io_uring_sqe_set_data64(s, UD(i, OP_RECV));
}

static void send_buf(struct srv_uring *u, unsigned int i, enum op op, const char *p, long n)
{
	struct io_uring_sqe *s = sqe(u);

	io_uring_prep_send(s, u->conns[i].sock, p, n, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(s, UD(i, op));
}

static void answer_error(struct srv_uring *u, unsigned int i, const char *line, long status)
{
	struct uconn *cn = &u->conns[i];

	cn->line = line;
	cn->done = 0;
	cn->status = status;
	send_buf(u, i, OP_SEND_ERR, line, strlen(line));
}

static void read_next(struct srv_uring *u, unsigned int i)
{
	struct uconn *cn = &u->conns[i];
	struct io_uring_sqe *s = sqe(u);
	long n = cn->size - cn->off < SRV_BUF ? cn->size - cn->off : SRV_BUF;

	io_uring_prep_read(s, cn->file, cn->c.buf, n, cn->off);
	io_uring_sqe_set_data64(s, UD(i, OP_READ));
}

static int name_ok(const char *name, long len)
{
	if (len < 1 || len > SRV_MAX_NAME || name[0] == '.')
		return 0;
	for (long k = 0; k < len; k++) {
		char ch = name[k];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static void got_request(struct srv_uring *u, unsigned int i, long res)
{
	struct uconn *cn = &u->conns[i];
	struct io_uring_sqe *s;
	char *nl;

	if (res <= 0) {
		finish(u, i, SRV_ABORTED);	/* gone before the end of its line */
		return;
	}
	nl = memchr(cn->c.req + cn->have, '\n', res);
	cn->have += res;
	if (!nl) {
		if (cn->have == SRV_MAX_REQUEST)
			answer_error(u, i, "ERR EMSGSIZE request too long\n", SRV_BAD_REQUEST);
		else
			recv_more(u, i);
		return;
	}
	*nl = 0;
	if (nl - cn->c.req < 4 || memcmp(cn->c.req, "GET ", 4) ||
	    !name_ok(cn->c.req + 4, nl - cn->c.req - 4)) {
		answer_error(u, i, "ERR EINVAL bad request\n", SRV_BAD_REQUEST);
		return;
	}
	s = sqe(u);
	io_uring_prep_openat(s, u->dirfd, cn->c.req + 4, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
	io_uring_sqe_set_data64(s, UD(i, OP_OPEN));
}

static void opened(struct srv_uring *u, unsigned int i, long res)
{
	struct uconn *cn = &u->conns[i];
	struct io_uring_sqe *s;

	if (res == -ENOENT)
		answer_error(u, i, "ERR ENOENT no such file\n", SRV_NOT_FOUND);
	else if (res == -ENXIO || res == -ELOOP)
		answer_error(u, i, "ERR EINVAL not a regular file\n", SRV_NOT_FOUND);
	else if (res == -EACCES)
		answer_error(u, i, "ERR EACCES permission denied\n", SRV_NOT_FOUND);
	else if (res < 0)
		answer_error(u, i, "ERR EIO cannot open the file\n", SRV_FAILED);
	if (res < 0)
		return;
	cn->file = res;
	s = sqe(u);
	io_uring_prep_statx(s, cn->file, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, &cn->stx);
	io_uring_sqe_set_data64(s, UD(i, OP_STATX));
}

static void stated(struct srv_uring *u, unsigned int i, long res)
{
	struct uconn *cn = &u->conns[i];
	unsigned long size = cn->stx.stx_size;
	char digits[24];
	int n = 0, len = 3;

	if (res < 0 || !S_ISREG(cn->stx.stx_mode)) {
		answer_error(u, i, "ERR EINVAL not a regular file\n",
			     res < 0 ? SRV_FAILED : SRV_NOT_FOUND);
		return;
	}
	cn->size = size;
	do {
		digits[n++] = '0' + size % 10;
		size /= 10;
	} while (size);
	memcpy(cn->head, "OK ", 3);
	while (n)
		cn->head[len++] = digits[--n];
	cn->head[len++] = '\n';
	cn->done = 0;
	cn->chunk = len;
	send_buf(u, i, OP_SEND_HEAD, cn->head, len);
}

/* A send of the answer's header, an error line or a chunk completed. */
static void sent(struct srv_uring *u, unsigned int i, enum op op, long res)
{
	struct uconn *cn = &u->conns[i];
	const char *p = op == OP_SEND_HEAD ? cn->head : op == OP_SEND_ERR ? cn->line : cn->c.buf;
	long total = op == OP_SEND_ERR ? (long)strlen(cn->line) : cn->chunk;

	if (res <= 0) {
		finish(u, i, SRV_ABORTED);
		return;
	}
	cn->done += res;
	if (cn->done < total) {
		send_buf(u, i, op, p + cn->done, total - cn->done);
		return;
	}
	if (op == OP_SEND_ERR) {
		finish(u, i, cn->status);
		return;
	}
	if (op == OP_SEND_DATA) {
		cn->c.sent += total;
		cn->off += total;
	}
	if (cn->off < cn->size)
		read_next(u, i);
	else
		finish(u, i, SRV_OK);
}

static void got_chunk(struct srv_uring *u, unsigned int i, long res)
{
	struct uconn *cn = &u->conns[i];

	if (res <= 0) {
		finish(u, i, SRV_FAILED);	/* the client sees a short answer */
		return;
	}
	cn->chunk = res;
	cn->done = 0;
	send_buf(u, i, OP_SEND_DATA, cn->c.buf, res);
}

static unsigned int free_conn(struct srv_uring *u)
{
	for (unsigned int i = 0; i < u->slots; i++)
		if (!u->conns[i].busy)
			return i;
	return NO_SLOT;
}

static void start_conn(struct srv_uring *u, int fd)
{
	unsigned int i = free_conn(u);
	struct uconn *cn = &u->conns[i];

	cn->busy = 1;
	cn->sock = fd;
	cn->file = -1;
	cn->have = cn->off = cn->size = 0;
	cn->c.sent = 0;
	u->active++;
	recv_more(u, i);
}

/* A free slot takes the next connection: through the ring while
 * serving; once stopped, only those already waiting (accept4() without
 * blocking). */
static void accept_more(struct srv_uring *u)
{
	struct io_uring_sqe *s;
	int fd;

	while (u->stopping && !u->accept_armed && u->active < u->slots) {
		fd = accept4(u->lsock, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		start_conn(u, fd);
	}
	if (u->stopping || u->accept_armed || u->active == u->slots)
		return;
	s = sqe(u);
	io_uring_prep_accept(s, u->lsock, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(s, UD(NO_SLOT, OP_ACCEPT));
	u->accept_armed = 1;
}

int srv_uring_init(struct srv_uring **out, int lsock, int dirfd, int stopfd,
		   unsigned int slots, struct srv_stats *stats)
{
	struct srv_uring *u = calloc(1, sizeof(*u));
	int err;

	if (!u)
		return -ENOMEM;
	u->conns = calloc(slots, sizeof(*u->conns));
	err = u->conns ? io_uring_queue_init(2 * slots + 8, &u->ring, 0) : -ENOMEM;
	if (err) {
		free(u->conns);
		free(u);
		return err;
	}
	u->lsock = lsock;
	u->dirfd = dirfd;
	u->stopfd = stopfd;
	u->slots = slots;
	u->stats = stats;
	*out = u;
	return 0;
}

void srv_uring_loop(struct srv_uring *u)
{
	struct io_uring_sqe *s = sqe(u);
	struct io_uring_cqe *cqe;
	int stop_armed = 1;

	io_uring_prep_poll_add(s, u->stopfd, POLLIN);
	io_uring_sqe_set_data64(s, UD(NO_SLOT, OP_STOP));
	accept_more(u);
	while (u->active || u->accept_armed || stop_armed) {
		int err = io_uring_submit_and_wait(&u->ring, 1);

		if (err < 0 && err != -EINTR) {
			if (!u->stats->loop_error)
				u->stats->loop_error = err;
			break;
		}
		while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
			unsigned int i = cqe->user_data >> 8;
			enum op op = cqe->user_data & 0xff;
			long res = cqe->res;

			io_uring_cqe_seen(&u->ring, cqe);
			switch (op) {
			case OP_ACCEPT:
				u->accept_armed = 0;
				if (res >= 0)
					start_conn(u, res);
				break;
			case OP_STOP:
				stop_armed = 0;
				u->stopping = 1;
				if (u->accept_armed) {
					s = sqe(u);
					io_uring_prep_cancel64(s, UD(NO_SLOT, OP_ACCEPT), 0);
					io_uring_sqe_set_data64(s, UD(NO_SLOT, OP_CANCEL));
				}
				break;
			case OP_CANCEL:
				break;
			case OP_RECV:
				got_request(u, i, res);
				break;
			case OP_OPEN:
				opened(u, i, res);
				break;
			case OP_STATX:
				stated(u, i, res);
				break;
			case OP_READ:
				got_chunk(u, i, res);
				break;
			default:
				sent(u, i, op, res);
				break;
			}
			accept_more(u);
		}
	}
	io_uring_queue_exit(&u->ring);
	free(u->conns);
	free(u);
}
