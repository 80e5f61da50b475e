/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The writer: qd independent streams (one file each), each appending
 * `records` records of rec_size bytes and calling fsync() after every
 * `every` records and after its last one. Three ways to make the calls:
 *
 *   FW_DIRECT  pwrite() and fsync() system calls, stream after stream
 *   FW_SYSLET  one chain per stream and batch (every x pwrite, then
 *              fsync) through libsyslet; the qd chains are submitted
 *              together and those that went asynchronous are reaped from
 *              the ring
 *   FW_URING   the same batch as linked io_uring SQEs (write ... write
 *              fsync), qd links in flight
 */
#ifndef FW_WRITER_H
#define FW_WRITER_H

#include <stdint.h>

enum fw_mode { FW_DIRECT, FW_SYSLET, FW_URING };

#define FW_MAX_QD	256
#define FW_MAX_EVERY	1024

struct fw_config {
	enum fw_mode mode;
	unsigned int qd;		/* streams, 1..FW_MAX_QD */
	uint64_t records;		/* per stream */
	unsigned int rec_size;		/* FW_MIN_RECORD..FW_MAX_RECORD */
	unsigned int every;		/* fsync after this many, 1..FW_MAX_EVERY */
};

/* What failed first: the call, its error, the stream and the record (for
 * fsync: the last record of the batch it closes). */
struct fw_failure {
	int err;			/* positive errno */
	const char *call;		/* "pwrite", "fsync", or "setup" */
	unsigned int stream;
	uint64_t record;
};

/* The counts a run leaves (for the summary and the tests). */
struct fw_stats {
	uint64_t writes, fsyncs;
	uint64_t chains, chains_async;	/* FW_SYSLET */
};

const char *fw_mode_name(enum fw_mode mode);
int fw_mode_parse(const char *s, enum fw_mode *mode);
/* 0 or -EINVAL with a message for a bad configuration. */
int fw_config_check(const struct fw_config *cfg, const char **why);

/*
 * Writes every stream (fds[0..qd-1], at offsets from 0): 0, or -errno
 * with *fail filled. A short write is completed with a plain pwrite() so
 * that its real error (ENOSPC, EFBIG) is the one reported.
 */
int fw_write(const struct fw_config *cfg, const int *fds, struct fw_failure *fail,
	     struct fw_stats *stats);

/* The modes, for fw_write(). */
int fw_write_direct(const struct fw_config *cfg, const int *fds, struct fw_failure *fail,
		    struct fw_stats *stats);
int fw_write_syslet(const struct fw_config *cfg, const int *fds, struct fw_failure *fail,
		    struct fw_stats *stats);
int fw_write_uring(const struct fw_config *cfg, const int *fds, struct fw_failure *fail,
		   struct fw_stats *stats);

/* Shared by the modes: a stream's batch buffers and the short-write rule. */
struct fw_batch {
	unsigned char *buf;		/* every x rec_size bytes */
	uint64_t first;			/* first record of the batch */
	unsigned int n;			/* records in it */
};

int fw_batches_alloc(const struct fw_config *cfg, struct fw_batch **out);
void fw_batches_free(const struct fw_config *cfg, struct fw_batch *b);
/* Fills stream s's next batch (from record `first`); its size. */
unsigned int fw_batch_fill(const struct fw_config *cfg, struct fw_batch *b, unsigned int s,
			   uint64_t first);
/*
 * A write of record rec (at buf) returned `got` (bytes or -errno):
 * 0 when it was whole; otherwise finishes it with pwrite() and returns
 * the error that ends it (-EIO if the rest went through after all).
 */
int fw_settle_write(int fd, const unsigned char *buf, unsigned int len, uint64_t rec,
		    long got);
void fw_fail(struct fw_failure *fail, int err, const char *call, unsigned int s, uint64_t rec);

#endif
