// SPDX-License-Identifier: GPL-2.0
/* The writer's shared parts and its direct mode (writer.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "writer.h"

static const char *const names[] = {
	[FW_DIRECT] = "direct", [FW_SYSLET] = "syslet", [FW_URING] = "uring",
};

const char *fw_mode_name(enum fw_mode mode)
{
	return mode <= FW_URING ? names[mode] : "?";
}

int fw_mode_parse(const char *s, enum fw_mode *mode)
{
	for (int m = FW_DIRECT; m <= FW_URING; m++)
		if (!strcmp(s, names[m])) {
			*mode = m;
			return 0;
		}
	return -EINVAL;
}

int fw_config_check(const struct fw_config *cfg, const char **why)
{
	if (cfg->mode > FW_URING)
		*why = "unknown mode";
	else if (cfg->qd < 1 || cfg->qd > FW_MAX_QD)
		*why = "queue depth must be 1..256";
	else if (cfg->rec_size < FW_MIN_RECORD || cfg->rec_size > FW_MAX_RECORD)
		*why = "record size must be 24..1048576 bytes";
	else if (cfg->every < 1 || cfg->every > FW_MAX_EVERY)
		*why = "fsync interval must be 1..1024 records";
	else if (cfg->records < 1 || cfg->records > (1ULL << 40) / cfg->rec_size)
		*why = "records must be 1 or more, at most 2^40 bytes per stream";
	else
		return 0;
	return -EINVAL;
}

void fw_fail(struct fw_failure *fail, int err, const char *call, unsigned int s, uint64_t rec)
{
	fail->err = err;
	fail->call = call;
	fail->stream = s;
	fail->record = rec;
}

int fw_batches_alloc(const struct fw_config *cfg, struct fw_batch **out)
{
	struct fw_batch *b = calloc(cfg->qd, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (unsigned int s = 0; s < cfg->qd; s++) {
		b[s].buf = malloc((size_t)cfg->every * cfg->rec_size);
		if (!b[s].buf) {
			fw_batches_free(cfg, b);
			return -ENOMEM;
		}
	}
	*out = b;
	return 0;
}

void fw_batches_free(const struct fw_config *cfg, struct fw_batch *b)
{
	if (!b)
		return;
	for (unsigned int s = 0; s < cfg->qd; s++)
		free(b[s].buf);
	free(b);
}

unsigned int fw_batch_fill(const struct fw_config *cfg, struct fw_batch *b, unsigned int s,
			   uint64_t first)
{
	uint64_t left = cfg->records - first;

	b->first = first;
	b->n = left < cfg->every ? (unsigned int)left : cfg->every;
	for (unsigned int i = 0; i < b->n; i++)
		fw_record_fill(b->buf + (size_t)i * cfg->rec_size, cfg->rec_size, s, first + i);
	return b->n;
}

int fw_settle_write(int fd, const unsigned char *buf, unsigned int len, uint64_t rec,
		    long got)
{
	uint64_t off = rec * len;
	ssize_t n;

	if (got == (long)len)
		return 0;
	if (got < 0)
		return (int)got;
	/* Short: the rest, until it fails or is written. */
	while (got < (long)len) {
		n = pwrite(fd, buf + got, len - got, off + got);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		got += n;
	}
	return -EIO;	/* short once, whole on retry: reported all the same */
}

int fw_write_direct(const struct fw_config *cfg, const int *fds, struct fw_failure *fail,
		    struct fw_stats *stats)
{
	struct fw_batch *b;
	uint64_t first;
	int err = 0;

	err = fw_batches_alloc(cfg, &b);
	if (err) {
		fw_fail(fail, -err, "setup", 0, 0);
		return err;
	}
	for (first = 0; first < cfg->records && !err; first += cfg->every) {
		for (unsigned int s = 0; s < cfg->qd && !err; s++) {
			unsigned int n = fw_batch_fill(cfg, &b[s], s, first);

			for (unsigned int i = 0; i < n; i++) {
				const unsigned char *p = b[s].buf + (size_t)i * cfg->rec_size;
				ssize_t got = pwrite(fds[s], p, cfg->rec_size,
						     (first + i) * cfg->rec_size);

				stats->writes++;
				err = fw_settle_write(fds[s], p, cfg->rec_size, first + i,
						      got < 0 ? -errno : got);
				if (err) {
					fw_fail(fail, -err, "pwrite", s, first + i);
					break;
				}
			}
			if (err)
				break;
			stats->fsyncs++;
			if (fsync(fds[s])) {
				err = -errno;
				fw_fail(fail, errno, "fsync", s, first + n - 1);
			}
		}
	}
	fw_batches_free(cfg, b);
	return err;
}

int fw_write(const struct fw_config *cfg, const int *fds, struct fw_failure *fail,
	     struct fw_stats *stats)
{
	const char *why;

	memset(stats, 0, sizeof(*stats));
	if (fw_config_check(cfg, &why)) {
		fw_fail(fail, EINVAL, "setup", 0, 0);
		return -EINVAL;
	}
	switch (cfg->mode) {
	case FW_SYSLET:
		return fw_write_syslet(cfg, fds, fail, stats);
	case FW_URING:
		return fw_write_uring(cfg, fds, fail, stats);
	default:
		return fw_write_direct(cfg, fds, fail, stats);
	}
}
