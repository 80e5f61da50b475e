// SPDX-License-Identifier: GPL-2.0
/*
 * The syslet mode: each stream's batch is one chain, pwrite x n then
 * fsync, every pwrite stopping the chain when it fails. The qd chains
 * are submitted one after another; a chain that blocks goes asynchronous
 * (the submitter goes on with the next stream) and is reaped from the
 * ring before its stream's next batch is built.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <syslet.h>

#include "record.h"
#include "writer.h"

/* Longest a chain may stay in flight before the run is called stuck. */
static const struct timespec reap_timeout = { 60, 0 };

struct stream {
	struct syslet_chain chain;
	unsigned int built;		/* pwrite atoms in the chain now */
	int fd;
};

/* (Re)builds s's chain for n records of its batch buffer. */
static int build(const struct fw_config *cfg, struct stream *st, const struct fw_batch *b)
{
	unsigned int len = cfg->rec_size, i;
	int idx, err;

	if (st->built == b->n) {
		/* Same shape: only the offsets move. */
		for (i = 0; i < b->n; i++) {
			err = syslet_atom_set_arg(&st->chain, i, 3, (b->first + i) * len);
			if (err)
				return err;
		}
		return 0;
	}
	err = syslet_chain_reset(&st->chain);
	if (err)
		return err;
	for (i = 0; i < b->n; i++) {
		idx = syslet_chain_call(&st->chain, __NR_pwrite64, st->fd,
					b->buf + (size_t)i * len, len, (b->first + i) * len);
		if (idx < 0)
			return idx;
		err = syslet_atom_stop_on(&st->chain, idx, SYSLET_STOP_ON_NEGATIVE);
		if (err)
			return err;
	}
	idx = syslet_chain_call(&st->chain, __NR_fsync, st->fd);
	if (idx < 0)
		return idx;
	st->built = b->n;
	return 0;
}

/* The results of s's finished chain: 0 or -errno with *fail set. */
static int check(const struct fw_config *cfg, struct stream *st, const struct fw_batch *b,
		 unsigned int s, struct fw_failure *fail, struct fw_stats *stats)
{
	unsigned int len = cfg->rec_size, i;
	long r;
	int err;

	for (i = 0; i < b->n; i++) {
		r = syslet_chain_result(&st->chain, i);
		if (r == SYSLET_RESULT_UNSET)
			break;
		stats->writes++;
		err = fw_settle_write(st->fd, b->buf + (size_t)i * len, len, b->first + i, r);
		if (err) {
			fw_fail(fail, -err, "pwrite", s, b->first + i);
			return err;
		}
	}
	r = syslet_chain_result(&st->chain, b->n);
	if (i < b->n || r == SYSLET_RESULT_UNSET) {
		/* Stopped with no failed write: cannot happen. */
		fw_fail(fail, EPROTO, "async_exec", s, b->first + i);
		return -EPROTO;
	}
	stats->fsyncs++;
	if (r < 0) {
		fw_fail(fail, (int)-r, "fsync", s, b->first + b->n - 1);
		return (int)r;
	}
	return 0;
}

int fw_write_syslet(const struct fw_config *cfg, const int *fds, struct fw_failure *fail,
		    struct fw_stats *stats)
{
	struct stream *st = calloc(cfg->qd, sizeof(*st));
	struct syslet_ring ring;
	struct fw_batch *b = NULL;
	unsigned int s, inflight = 0, inited = 0;
	struct syslet_chain *done;
	uint64_t first;
	int err, ring_ok = 0;

	err = st ? fw_batches_alloc(cfg, &b) : -ENOMEM;
	if (!err)
		err = syslet_ring_init(&ring, cfg->qd);
	ring_ok = !err;
	for (s = 0; !err && s < cfg->qd; s++, inited++) {
		err = syslet_chain_init(&st[s].chain, cfg->every + 1);
		st[s].chain.data = (void *)(uintptr_t)s;
		st[s].fd = fds[s];
	}
	if (err) {
		fw_fail(fail, -err, "setup", 0, 0);
		goto out;
	}
	for (first = 0; first < cfg->records && !err; first += cfg->every) {
		for (s = 0; s < cfg->qd; s++) {
			fw_batch_fill(cfg, &b[s], s, first);
			err = build(cfg, &st[s], &b[s]);
			if (err) {
				fw_fail(fail, -err, "setup", s, first);
				break;
			}
			err = syslet_chain_submit(&st[s].chain, &ring);
			stats->chains++;
			if (err == SYSLET_CHAIN_ASYNC) {
				stats->chains_async++;
				inflight++;
				err = 0;
				continue;
			}
			if (err < 0) {
				fw_fail(fail, -err, "async_exec", s, first);
				break;
			}
			err = check(cfg, &st[s], &b[s], s, fail, stats);
			if (err)
				break;
		}
		/* Every chain of this batch must be back before the buffers
		 * are refilled (and before a failure returns). */
		while (inflight) {
			int e = syslet_chain_reap(&ring, &done, &reap_timeout);

			if (e) {
				/* Not reaped: the chains still point into
				 * memory we must not free. */
				fw_fail(fail, -e, "async_wait", 0, first);
				return e;
			}
			inflight--;
			s = (unsigned int)(uintptr_t)done->data;
			if (!err)
				err = check(cfg, &st[s], &b[s], s, fail, stats);
		}
	}
out:
	for (s = 0; s < inited; s++)
		syslet_chain_exit(&st[s].chain);
	if (ring_ok)
		syslet_ring_exit(&ring);
	fw_batches_free(cfg, b);
	free(st);
	return err;
}
