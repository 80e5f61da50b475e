/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syslet-treewalk: count the entries of a directory tree by type and add
 * up the sizes of its regular files (du -s --apparent-size -b, plus the
 * counts), reading directories with getdents64 and every entry's type
 * and size with statx(AT_SYMLINK_NOFOLLOW). Three engines do the same
 * walk: plain system calls, libsyslet chains, and io_uring for the statx
 * calls (it has no getdents).
 */
#ifndef TREEWALK_WALK_H
#define TREEWALK_WALK_H

#include <stdint.h>

enum walk_mode { WALK_DIRECT, WALK_SYSLET, WALK_URING };

struct walk_opts {
	enum walk_mode mode;
	unsigned int qd;	/* chains (syslet) or SQEs (uring) in flight */
	unsigned int batch;	/* syslet: statx atoms per chain at most */
	int quiet;		/* no message per failed entry */
};

struct walk_stats {
	uint64_t entries;	/* everything below the root, not the root */
	uint64_t dirs, files, symlinks, other;
	uint64_t bytes;		/* sum of the regular files' sizes */
	uint64_t errors;	/* entries or directories that could not be read */
	/* syslet engine only: chains submitted, of which went asynchronous */
	uint64_t chains, chains_async;
};

#define WALK_MAX_QD	1024
#define WALK_MAX_BATCH	4096
#define WALK_BUF	32768	/* bytes per getdents64 call */

/*
 * Walks the tree below root. Returns 0 (the counts are in *st; entries
 * that failed are counted in st->errors and reported on stderr unless
 * quiet), or a negative errno when the walk could not be done at all:
 * root unreadable or not a directory, no memory, no ring.
 */
int walk_tree(const char *root, const struct walk_opts *o, struct walk_stats *st);

/* ---- shared by the engines (walk.c) ---- */

struct statx;

/* A FIFO of directory paths still to read. */
struct dirq {
	char **paths;
	unsigned long head, tail, cap;
};

int dirq_push(struct dirq *q, const char *dir, const char *name);
char *dirq_pop(struct dirq *q);	/* NULL when empty; the caller frees */
void dirq_free(struct dirq *q);

/* Counts one entry; queues it when it is a directory. 0 or -ENOMEM. */
int walk_account(struct walk_stats *st, struct dirq *q, const char *dir,
		 const char *name, const struct statx *stx);
/* Counts and reports a failure on dir[/name]. */
void walk_error(struct walk_stats *st, const struct walk_opts *o, const char *what,
		const char *dir, const char *name, int err);
/* The next name of a getdents64 buffer from *pos, skipping "." and "..":
 * the name, or NULL at the end of the buffer. */
const char *walk_next_name(const char *buf, long len, long *pos);

/* The flags and mask every engine passes to statx. */
#define WALK_STATX_FLAGS	(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT)
#define WALK_STATX_MASK		(STATX_TYPE | STATX_SIZE)

int walk_direct(const struct walk_opts *o, struct dirq *q, struct walk_stats *st);
int walk_syslet(const struct walk_opts *o, struct dirq *q, struct walk_stats *st);
int walk_uring(const struct walk_opts *o, struct dirq *q, struct walk_stats *st);

#endif
