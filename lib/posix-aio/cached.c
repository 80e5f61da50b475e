// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: the page cache's answer to a read, inside aio_read() or
 * on the helper thread (helper.c).
 *
 * A read whose data is cached finishes inside aio_read() with one
 * preadv2(RWF_NOWAIT): no request, no io_context, no event to reap, no
 * thread woken. This is the syslet promise (a call that does not block
 * costs what a synchronous one does) kept without moving the caller's
 * context, whose TID must not change.
 *
 * Taken only where nothing observable differs from the queued path:
 * - no notification asked for (glibc sends it from another thread, after
 *   the call returns);
 * - no write or sync registered that the read could have to wait for;
 * - a length above 0 (an empty preadv2() skips the checks an empty
 *   pread() makes, and raises an inotify event pread() does not) and an
 *   offset that is not negative (preadv2() reads -1 as "the position");
 * - a regular file or a block device, whose reads take nothing away (a
 *   tun device's read takes a packet) and not O_DIRECT (a direct read
 *   with RWF_NOWAIT still waits for its I/O).
 * It succeeds when the kernel returned the whole range, or a regular
 * file's data up to its end as fstat() saw it. Anything else (EAGAIN:
 * not cached; a short read: partly cached; EOPNOTSUPP: /proc) sends the
 * read the usual way, which gives glibc's answer; if bytes
 * were already copied into the buffer the request counts as started
 * (aio_cancel() answers AIO_NOTCANCELED, never AIO_CANCELED with the
 * buffer written). The system calls are made with syscall(): neither a
 * cancellation point (aio_read() is not one) nor another library's
 * preadv2(). errno is left as it was.
 *
 * Misses in a row back off: after K of them the next 2^K - 1 reads (at
 * most 63) skip the attempt, so a cold workload pays one extra round of
 * system calls per 64 reads.
 *
 * When requests come in a run (a caller submitting several before it
 * looks at any), the helper thread may take the read instead: it makes
 * the same attempt with the same checks, on the second CPU (helper.c).
 */
#include "syslet_aio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * Misses in a row back off (above). Two counts: every miss, for the
 * inline attempt; and the misses that mean "not cached" (not those of a
 * file system that cannot answer RWF_NOWAIT), for handing reads to the
 * helper, which can serve those (below).
 */
struct backoff {
	unsigned miss, skip;
};
static struct backoff any_bo, cold_bo;

static void bo_miss(struct backoff *b)
{
	unsigned m = __atomic_load_n(&b->miss, __ATOMIC_RELAXED);

	m = m < 6 ? m + 1 : 6;
	__atomic_store_n(&b->miss, m, __ATOMIC_RELAXED);
	__atomic_store_n(&b->skip, (1u << m) - 1, __ATOMIC_RELAXED);
}

static void bo_hit(struct backoff *b)
{
	__atomic_store_n(&b->miss, 0, __ATOMIC_RELAXED);
}

/* Whether this read skips (and counts it). */
static int bo_skip(struct backoff *b)
{
	unsigned k = __atomic_load_n(&b->skip, __ATOMIC_RELAXED);

	if (k)
		__atomic_store_n(&b->skip, k - 1, __ATOMIC_RELAXED);
	return k != 0;
}

/*
 * File systems whose regular files answer RWF_NOWAIT with EOPNOTSUPP,
 * by st_dev, the last few seen, in two lists: tmpfs (fstatfs() said so
 * when the first read there answered EOPNOTSUPP) and the others (NFS,
 * FUSE, 9p, overlayfs ...). RWF_NOWAIT is not tried on either again.
 * On a tmpfs one the read is a plain preadv2(), inline or on the helper,
 * once fstatfs() has confirmed tmpfs again (an anonymous st_dev is
 * reused after an unmount, and a FUSE file's read could wait for ever;
 * an entry found reused moves to the other list): its data is in memory,
 * or in swap, where io_submit() would wait for it as long (the kernel's
 * aio path for tmpfs is synchronous, with kernel.syslet_aio set or not),
 * and a read that io_submit() made would still cost an event to reap and
 * a thread to wake. Only once the io_context exists: the process's first
 * read goes through io_submit(), which makes it, and if io_setup() fails
 * (aio-max-nr exhausted) the reads are glibc's, on glibc's threads, as
 * they were. On the others the read goes on to io_submit() without a
 * statfs() (which may ask a server or a daemon), and both backoffs, the
 * inline attempt's and the helper's, count it as a miss. The entries are
 * read and written whole, without a lock: a hint only.
 */
#define UNSUP 8
struct devs {
	dev_t dev[UNSUP];
	unsigned next;
};
static struct devs unsup_tmpfs, unsup_other;

static int listed(struct devs *l, dev_t dev)
{
	for (unsigned i = 0; i < UNSUP; i++)
		if (__atomic_load_n(&l->dev[i], __ATOMIC_RELAXED) == dev)
			return 1;
	return 0;
}

static void list(struct devs *l, dev_t dev)
{
	if (!listed(l, dev))
		__atomic_store_n(&l->dev[__atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED) % UNSUP],
				 dev, __ATOMIC_RELAXED);
}

static void unlist(struct devs *l, dev_t dev)
{
	for (unsigned i = 0; i < UNSUP; i++) {
		dev_t d = dev;

		__atomic_compare_exchange_n(&l->dev[i], &d, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

static int on_tmpfs(int fd)
{
	struct statfs sf;

	return !fstatfs(fd, &sf) && sf.f_type == TMPFS_MAGIC;
}

/*
 * The attempt: LEN bytes of FD at OFF into BUF from the page cache.
 * SA_CR_DONE when that is the read's whole answer, in *RES (bytes, or
 * -errno); SA_CR_MISS when it is not (SA_CR_TOUCHED: bytes were copied
 * into BUF anyway). On tmpfs, a plain read, whose answer is final.
 */
int sa_cached_read(int fd, void *buf, size_t len, long long off, long *res)
{
	struct iovec iov = { buf, len };
	struct stat st;
	long n;
	int fl, e = errno, rc = SA_CR_MISS;

	if (fstat(fd, &st))
		goto cold;
	if (!sa_file_mode(st.st_mode)) {
		rc = SA_CR_OTHER;	/* the number now names a pipe or the like */
		goto cold;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_DIRECT))
		goto cold;
	if (S_ISREG(st.st_mode) && st.st_dev) {
		if (listed(&unsup_tmpfs, st.st_dev)) {
			if (on_tmpfs(fd))
				goto tmpfs;
			/* the number was reused by another file system */
			unlist(&unsup_tmpfs, st.st_dev);
			list(&unsup_other, st.st_dev);
			goto cold;
		}
		/* neither this attempt nor the helper can serve it: both
		 * back off (cold_bo is the helper's) */
		if (listed(&unsup_other, st.st_dev))
			goto cold;
	}
	n = syscall(SYS_preadv2, fd, &iov, 1L, (long)off, 0L, (long)RWF_NOWAIT);
	if (n < 0 && errno == EOPNOTSUPP && S_ISREG(st.st_mode)) {
		if (!on_tmpfs(fd)) {
			list(&unsup_other, st.st_dev);
			goto cold;
		}
		list(&unsup_tmpfs, st.st_dev);
		goto tmpfs;
	}
	if (n < 0)
		goto cold;
	if ((size_t)n != len && !(S_ISREG(st.st_mode) && off + n == (long long)st.st_size)) {
		rc = n > 0 ? SA_CR_TOUCHED : SA_CR_MISS;
		goto cold;
	}
done:
	bo_hit(&any_bo);
	bo_hit(&cold_bo);
	*res = n;
	errno = e;
	return SA_CR_DONE;
tmpfs:
	if (!sa_ctx())
		goto miss;
	n = syscall(SYS_preadv2, fd, &iov, 1L, (long)off, 0L, 0L);
	if (n < 0)
		n = -errno;
	goto done;
cold:
	bo_miss(&cold_bo);
miss:
	bo_miss(&any_bo);
	errno = e;
	return rc;
}

/*
 * Returns 1 when CB is finished (aio_read() then returns 0), 0 when the
 * buffer is untouched, -1 when bytes were copied into it, 2 when the
 * helper thread is to take it (helper.c).
 */
int sa_read_now(struct aiocb *cb)
{
	const struct sigevent *sev = &cb->aio_sigevent;
	long n;
	int rc;

	if (!sa_nowait || cb->aio_offset < 0 || !cb->aio_nbytes || cb->aio_nbytes > SSIZE_MAX ||
	    cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX)
		return 0;
	if (sev->sigev_notify != SIGEV_NONE &&
	    !(sev->sigev_notify == SIGEV_SIGNAL && sev->sigev_signo == 0))
		return 0;
	if (!sa_only_reads())
		return 0;
	rc = sa_helper_take(bo_skip(&cold_bo));
	if (rc)
		return rc > 0 ? 2 : 0;
	if (bo_skip(&any_bo))
		return 0;
	rc = sa_cached_read(cb->aio_fildes, (void *)cb->aio_buf, cb->aio_nbytes, cb->aio_offset, &n);
	if (rc != SA_CR_DONE)
		return rc == SA_CR_TOUCHED ? -1 : 0;
	sa_count(SA_ST_NOWAIT);
	/* an error of a plain read on tmpfs (EFAULT, EIO) is final too */
	cb->__return_value = n < 0 ? -1 : n;
	__atomic_store_n(&cb->__error_code, n < 0 ? (int)-n : 0, __ATOMIC_RELEASE);
	sa_bump_gen();
	return 1;
}
