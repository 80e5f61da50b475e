/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syslet-cp: copy a file with positioned reads and writes, by one of
 * three engines: plain pread/pwrite, libsyslet chains of pread -> pwrite
 * pairs, and io_uring reads and writes.
 */
#ifndef COPY_COPY_H
#define COPY_COPY_H

#include <stddef.h>

enum copy_mode { COPY_DIRECT, COPY_SYSLET, COPY_URING };

/* The syslet engine's chains, and how many went asynchronous. */
struct copy_stats {
	unsigned long chains, chains_async;
};

struct copy_opts {
	enum copy_mode mode;
	unsigned int qd;	/* chains (syslet) or chunks (uring) in flight */
	unsigned int pairs;	/* syslet: pread + pwrite pairs per chain */
	size_t chunk;		/* bytes per read */
	struct copy_stats *stats;	/* NULL, or counted into */
};

#define COPY_MAX_QD	256
#define COPY_MAX_PAIRS	64
#define COPY_MIN_CHUNK	512
#define COPY_MAX_CHUNK	(16 << 20)

/* What failed, for the message. */
enum copy_op { OP_NONE, OP_READ, OP_WRITE };

/*
 * Copies src from offset 0 to its end (the first read that returns 0)
 * into dst at the same offsets; dst should be empty. Returns the bytes
 * copied, or a negative errno with *op telling which side failed
 * (OP_NONE: memory, a ring). A short read or write is continued where it
 * stopped.
 */
long long copy_fd(int src, int dst, const struct copy_opts *o, enum copy_op *op);

long long copy_direct(int src, int dst, const struct copy_opts *o, enum copy_op *op);
long long copy_syslet(int src, int dst, const struct copy_opts *o, enum copy_op *op);
long long copy_uring(int src, int dst, const struct copy_opts *o, enum copy_op *op);

#endif
