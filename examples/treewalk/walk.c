// SPDX-License-Identifier: GPL-2.0
/*
 * The walk shared by the three engines (the queue of directories, the
 * counting, the getdents64 buffer parser) and the direct engine: one
 * getdents64 per buffer, one statx per entry, as any program would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "walk.h"

/* The kernel's struct linux_dirent64. */
struct dirent64_k {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int dirq_push(struct dirq *q, const char *dir, const char *name)
{
	size_t ld = strlen(dir), ln = name ? strlen(name) : 0;
	char *p;

	if (q->tail == q->cap) {
		/* Slide what is left to the front, or grow. */
		if (q->head > q->cap / 2) {
			memmove(q->paths, q->paths + q->head,
				(q->tail - q->head) * sizeof(*q->paths));
			q->tail -= q->head;
			q->head = 0;
		} else {
			unsigned long cap = q->cap ? q->cap * 2 : 256;
			char **np = realloc(q->paths, cap * sizeof(*np));

			if (!np)
				return -ENOMEM;
			q->paths = np;
			q->cap = cap;
		}
	}
	p = malloc(ld + ln + 2);
	if (!p)
		return -ENOMEM;
	memcpy(p, dir, ld);
	if (name) {
		p[ld] = '/';
		memcpy(p + ld + 1, name, ln + 1);
	} else {
		p[ld] = 0;
	}
	q->paths[q->tail++] = p;
	return 0;
}

char *dirq_pop(struct dirq *q)
{
	return q->head == q->tail ? NULL : q->paths[q->head++];
}

void dirq_free(struct dirq *q)
{
	while (q->head < q->tail)
		free(q->paths[q->head++]);
	free(q->paths);
	memset(q, 0, sizeof(*q));
}

int walk_account(struct walk_stats *st, struct dirq *q, const char *dir,
		 const char *name, const struct statx *stx)
{
	st->entries++;
	switch (stx->stx_mode & S_IFMT) {
	case S_IFDIR:
		st->dirs++;
		return dirq_push(q, dir, name);
	case S_IFREG:
		st->files++;
		st->bytes += stx->stx_size;
		return 0;
	case S_IFLNK:
		st->symlinks++;
		return 0;
	default:
		st->other++;
		return 0;
	}
}

void walk_error(struct walk_stats *st, const struct walk_opts *o, const char *what,
		const char *dir, const char *name, int err)
{
	st->errors++;
	if (!o->quiet)
		fprintf(stderr, "syslet-treewalk: %s %s%s%s: %s\n", what, dir, name ? "/" : "",
			name ? name : "", strerror(err));
}

const char *walk_next_name(const char *buf, long len, long *pos)
{
	while (*pos < len) {
		const struct dirent64_k *d = (const void *)(buf + *pos);

		*pos += d->d_reclen;
		if (d->d_name[0] == '.' && (!d->d_name[1] ||
					    (d->d_name[1] == '.' && !d->d_name[2])))
			continue;
		return d->d_name;
	}
	return NULL;
}

int walk_direct(const struct walk_opts *o, struct dirq *q, struct walk_stats *st)
{
	char *buf = aligned_alloc(8, WALK_BUF), *dir;
	struct statx stx;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err && (dir = dirq_pop(q))) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		long n, pos;

		if (fd < 0) {
			walk_error(st, o, "open", dir, NULL, errno);
			free(dir);
			continue;
		}
		while (!err && (n = syscall(SYS_getdents64, fd, buf, WALK_BUF)) > 0) {
			const char *name;

			for (pos = 0; !err && (name = walk_next_name(buf, n, &pos));) {
				if (statx(fd, name, WALK_STATX_FLAGS, WALK_STATX_MASK, &stx))
					walk_error(st, o, "statx", dir, name, errno);
				else
					err = walk_account(st, q, dir, name, &stx);
			}
		}
		if (n < 0)
			walk_error(st, o, "getdents64", dir, NULL, errno);
		close(fd);
		free(dir);
	}
	free(buf);
	return err;
}

int walk_tree(const char *root, const struct walk_opts *o, struct walk_stats *st)
{
	struct dirq q = { 0 };
	struct statx stx;
	int err;

	memset(st, 0, sizeof(*st));
	if (o->qd < 1 || o->qd > WALK_MAX_QD || o->batch < 1 || o->batch > WALK_MAX_BATCH)
		return -EINVAL;
	/* The root must be a directory (followed if it is a symlink). */
	if (statx(AT_FDCWD, root, 0, STATX_TYPE, &stx))
		return -errno;
	if (!S_ISDIR(stx.stx_mode))
		return -ENOTDIR;
	err = dirq_push(&q, root, NULL);
	if (err)
		return err;
	switch (o->mode) {
	case WALK_DIRECT:
		err = walk_direct(o, &q, st);
		break;
	case WALK_SYSLET:
		err = walk_syslet(o, &q, st);
		break;
	case WALK_URING:
		err = walk_uring(o, &q, st);
		break;
	default:
		err = -EINVAL;
	}
	dirq_free(&q);
	return err;
}
