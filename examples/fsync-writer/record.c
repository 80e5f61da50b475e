// SPDX-License-Identifier: GPL-2.0
/* The journal's record format and its reader (record.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "record.h"

static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static uint32_t record_sum(const unsigned char *rec, unsigned int len)
{
	uint32_t h = 2166136261u;

	/* Everything but the sum field itself. */
	h = fnv1a(h, rec, offsetof(struct fw_record_hdr, sum));
	return fnv1a(h, rec + sizeof(struct fw_record_hdr), len - sizeof(struct fw_record_hdr));
}

void fw_record_fill(void *buf, unsigned int len, unsigned int stream, uint64_t seq)
{
	struct fw_record_hdr h = {
		.magic = FW_MAGIC, .stream = stream, .seq = seq, .len = len,
	};
	unsigned char *p = buf;
	unsigned int i;

	for (i = sizeof(h); i < len; i++)
		p[i] = (unsigned char)(seq * 131 + stream * 7 + i);
	memcpy(p, &h, sizeof(h));
	h.sum = record_sum(p, len);
	memcpy(p + offsetof(struct fw_record_hdr, sum), &h.sum, sizeof(h.sum));
}

int fw_verify_fd(int fd, unsigned int len, unsigned int stream, uint64_t records,
		 char *why, size_t whylen)
{
	unsigned char *got = malloc(len), *want = malloc(len);
	struct stat st;
	uint64_t seq;
	ssize_t n;
	int ret = -1;

	if (!got || !want) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (fstat(fd, &st)) {
		snprintf(why, whylen, "fstat: %s", strerror(errno));
		goto out;
	}
	if ((uint64_t)st.st_size != records * len) {
		snprintf(why, whylen, "size %lld, expected %llu (%llu records of %u bytes)",
			 (long long)st.st_size, (unsigned long long)(records * len),
			 (unsigned long long)records, len);
		goto out;
	}
	for (seq = 0; seq < records; seq++) {
		n = pread(fd, got, len, seq * len);
		if (n != (ssize_t)len) {
			snprintf(why, whylen, "record %llu: short read (%zd)",
				 (unsigned long long)seq, n);
			goto out;
		}
		fw_record_fill(want, len, stream, seq);
		if (memcmp(got, want, len)) {
			struct fw_record_hdr h;

			memcpy(&h, got, sizeof(h));
			snprintf(why, whylen, "record %llu: wrong bytes (header: magic %#x stream %u "
				 "seq %llu len %u; checksum %s)", (unsigned long long)seq,
				 h.magic, h.stream, (unsigned long long)h.seq, h.len,
				 h.sum == record_sum(got, len) ? "matches" : "wrong");
			goto out;
		}
	}
	ret = 0;
out:
	free(got);
	free(want);
	return ret;
}
