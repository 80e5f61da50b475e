/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The journal's record: a header that names it (stream, sequence number,
 * length, checksum) and a payload derived from the same numbers, so a
 * reader can tell every byte of a file is where it belongs.
 */
#ifndef FW_RECORD_H
#define FW_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define FW_MAGIC	0x31525746u	/* "FWR1" */

struct fw_record_hdr {
	uint32_t magic;
	uint32_t stream;
	uint64_t seq;
	uint32_t len;		/* the whole record, header included */
	uint32_t sum;		/* FNV-1a of the rest of the record */
};

#define FW_MIN_RECORD	((unsigned int)sizeof(struct fw_record_hdr))
#define FW_MAX_RECORD	(1U << 20)

/* Fills buf (len bytes) with record seq of stream. */
void fw_record_fill(void *buf, unsigned int len, unsigned int stream, uint64_t seq);

/*
 * Checks a whole journal file: exactly `records` records of len bytes of
 * stream, numbered from 0. 0, or -1 with a message in why (at most
 * whylen bytes) naming the first bad record.
 */
int fw_verify_fd(int fd, unsigned int len, unsigned int stream, uint64_t records,
		 char *why, size_t whylen);

#endif
