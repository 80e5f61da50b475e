// SPDX-License-Identifier: GPL-2.0
/*
 * The io_uring mode: each stream's batch is a link of n write SQEs and
 * an fsync SQE (IOSQE_IO_LINK), the qd links submitted with one
 * io_uring_enter() and reaped together. A failed or short write breaks
 * its link: what follows it completes with -ECANCELED.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

#include "writer.h"

/* user_data: stream in the high half, the SQE's index in its link below
 * (n: the fsync). */
#define UD(s, i)	(((uint64_t)(s) << 32) | (i))

int fw_write_uring(const struct fw_config *cfg, const int *fds, struct fw_failure *fail,
		   struct fw_stats *stats)
{
	unsigned int entries = cfg->qd * (cfg->every + 1), len = cfg->rec_size;
	long *res = calloc(entries, sizeof(*res));
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct fw_batch *b = NULL;
	uint64_t first;
	int err, ring_ok;

	err = res ? fw_batches_alloc(cfg, &b) : -ENOMEM;
	if (!err)
		err = io_uring_queue_init(entries, &ring, 0);
	ring_ok = !err;
	if (err) {
		fw_fail(fail, -err, "setup", 0, 0);
		goto out;
	}
	for (first = 0; first < cfg->records && !err; first += cfg->every) {
		unsigned int want = 0, s, i;

		for (s = 0; s < cfg->qd; s++) {
			unsigned int n = fw_batch_fill(cfg, &b[s], s, first);

			for (i = 0; i <= n; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

				if (i < n)
					io_uring_prep_write(sqe, fds[s], b[s].buf + (size_t)i * len,
							    len, (first + i) * len);
				else
					io_uring_prep_fsync(sqe, fds[s], 0);
				if (i < n)
					sqe->flags |= IOSQE_IO_LINK;
				io_uring_sqe_set_data64(sqe, UD(s, i));
				res[s * (cfg->every + 1) + i] = -ECANCELED;
			}
			want += n + 1;
		}
		err = io_uring_submit_and_wait(&ring, want);
		if (err < 0) {
			fw_fail(fail, -err, "io_uring_enter", 0, first);
			break;
		}
		err = 0;
		for (unsigned int got = 0; got < want; got++) {
			int e = io_uring_wait_cqe(&ring, &cqe);

			if (e) {
				fw_fail(fail, -e, "io_uring_enter", 0, first);
				err = e;
				goto out;
			}
			s = cqe->user_data >> 32;
			i = (uint32_t)cqe->user_data;
			res[s * (cfg->every + 1) + i] = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
		/* In stream order, as the other modes report them. */
		for (s = 0; s < cfg->qd && !err; s++) {
			long *r = &res[s * (cfg->every + 1)];

			for (i = 0; i < b[s].n && !err; i++) {
				stats->writes++;
				err = fw_settle_write(fds[s], b[s].buf + (size_t)i * len, len,
						      first + i, r[i]);
				if (err)
					fw_fail(fail, -err, "pwrite", s, first + i);
			}
			if (err)
				break;
			stats->fsyncs++;
			if (r[b[s].n] < 0) {
				err = (int)r[b[s].n];
				fw_fail(fail, -err, "fsync", s, first + b[s].n - 1);
			}
		}
	}
out:
	if (ring_ok)
		io_uring_queue_exit(&ring);
	fw_batches_free(cfg, b);
	free(res);
	return err;
}
