// SPDX-License-Identifier: GPL-2.0
/*
 * The io_uring engine: io_uring has no getdents, so directories are
 * opened, read and closed with direct calls as in the direct engine; the
 * statx of every entry goes through the ring, up to `qd` in flight (the
 * kernel hands each IORING_OP_STATX to an io-wq worker thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include "walk.h"

#ifdef EXAMPLES_NO_URING
/* Built without liburing (examples/Makefile found no liburing.pc). */
int walk_uring(const struct walk_opts *o, struct dirq *q, struct walk_stats *st)
{
	(void)o;
	(void)q;
	(void)st;
	return -EOPNOTSUPP;
}
#else
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>


/* A getdents64 record is at least 24 bytes. */
#define MAX_NAMES (WALK_BUF / 24 + 1)

struct uwalk {
	const struct walk_opts *o;
	struct dirq *q;
	struct walk_stats *st;
	struct io_uring ring;
	char *buf;
	const char **names;
	struct statx *stx;
};

/* statx of names[0..n) of dir through the ring, qd at a time. */
static int stat_names(struct uwalk *u, int fd, const char *dir, unsigned int n)
{
	unsigned int next = 0, done = 0, inflight = 0;
	struct io_uring_cqe *cqe;
	int r, err = 0;

	while (done < n) {
		while (inflight < u->o->qd && next < n) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

			if (!sqe)
				break;
			io_uring_prep_statx(sqe, fd, u->names[next], WALK_STATX_FLAGS,
					    WALK_STATX_MASK, &u->stx[next]);
			io_uring_sqe_set_data64(sqe, next);
			next++;
			inflight++;
		}
		r = io_uring_submit_and_wait(&u->ring, 1);
		if (r < 0 && r != -EINTR)
			return r;
		while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
			unsigned int k = (unsigned int)io_uring_cqe_get_data64(cqe);

			if (cqe->res < 0)
				walk_error(u->st, u->o, "statx", dir, u->names[k], -cqe->res);
			else if (!err)
				err = walk_account(u->st, u->q, dir, u->names[k], &u->stx[k]);
			io_uring_cqe_seen(&u->ring, cqe);
			inflight--;
			done++;
		}
	}
	return err;
}

static int run(struct uwalk *u)
{
	char *dir;
	int err = 0;

	while (!err && (dir = dirq_pop(u->q))) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		long n, pos;

		if (fd < 0) {
			walk_error(u->st, u->o, "open", dir, NULL, errno);
			free(dir);
			continue;
		}
		while (!err && (n = syscall(SYS_getdents64, fd, u->buf, WALK_BUF)) > 0) {
			unsigned int m = 0;

			pos = 0;
			while ((u->names[m] = walk_next_name(u->buf, n, &pos)))
				m++;
			err = stat_names(u, fd, dir, m);
		}
		if (n < 0)
			walk_error(u->st, u->o, "getdents64", dir, NULL, errno);
		close(fd);
		free(dir);
	}
	return err;
}

int walk_uring(const struct walk_opts *o, struct dirq *q, struct walk_stats *st)
{
	struct uwalk u = { .o = o, .q = q, .st = st };
	int err;

	u.buf = aligned_alloc(8, WALK_BUF);
	u.names = calloc(MAX_NAMES + 1, sizeof(*u.names));
	u.stx = calloc(MAX_NAMES, sizeof(*u.stx));
	if (!u.buf || !u.names || !u.stx) {
		err = -ENOMEM;
		goto out;
	}
	err = io_uring_queue_init(o->qd, &u.ring, 0);
	if (err)
		goto out;
	err = run(&u);
	io_uring_queue_exit(&u.ring);
out:
	free(u.buf);
	free(u.names);
	free(u.stx);
	return err;
}
#endif /* EXAMPLES_NO_URING */
