// SPDX-License-Identifier: GPL-2.0
/* The direct engine (pread, then pwrite until all of it is written) and
 * the choice of engine. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "copy.h"

long long copy_direct(int src, int dst, const struct copy_opts *o, enum copy_op *op)
{
	char *buf = malloc(o->chunk);
	long long off = 0, err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r = pread(src, buf, o->chunk, off), w;

		if (r < 0) {
			*op = OP_READ;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		for (ssize_t done = 0; done < r; done += w) {
			w = pwrite(dst, buf + done, r - done, off + done);
			if (w <= 0) {
				*op = OP_WRITE;
				err = w < 0 ? -errno : -EIO;
				break;
			}
		}
		if (err)
			break;
		off += r;
	}
	free(buf);
	return err ? err : off;
}

long long copy_fd(int src, int dst, const struct copy_opts *o, enum copy_op *op)
{
	*op = OP_NONE;
	if (o->qd < 1 || o->qd > COPY_MAX_QD || o->pairs < 1 || o->pairs > COPY_MAX_PAIRS ||
	    o->chunk < COPY_MIN_CHUNK || o->chunk > COPY_MAX_CHUNK)
		return -EINVAL;
	switch (o->mode) {
	case COPY_DIRECT:
		return copy_direct(src, dst, o, op);
	case COPY_SYSLET:
		return copy_syslet(src, dst, o, op);
	case COPY_URING:
		return copy_uring(src, dst, o, op);
	}
	return -EINVAL;
}
