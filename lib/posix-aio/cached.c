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
 * not cached; a short read: partly cached; EOPNOTSUPP: tmpfs, /proc)
 * sends the read the usual way, which gives glibc's answer; if bytes
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned nw_miss, nw_skip;

static void nowait_miss(void)
{
	unsigned m = __atomic_load_n(&nw_miss, __ATOMIC_RELAXED);

	m = m < 6 ? m + 1 : 6;
	__atomic_store_n(&nw_miss, m, __ATOMIC_RELAXED);
	__atomic_store_n(&nw_skip, (1u << m) - 1, __ATOMIC_RELAXED);
}

/*
 * The attempt: LEN bytes of FD at OFF into BUF from the page cache.
 * Returns the bytes read when that is the read's whole answer; -1 when
 * it is not, with *TOUCHED set if bytes were copied into BUF anyway.
 */
long sa_cached_read(int fd, void *buf, size_t len, long long off, int *touched)
{
	struct iovec iov = { buf, len };
	struct stat st;
	long n;
	int fl, e = errno;

	*touched = 0;
	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		goto miss;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_DIRECT))
		goto miss;
	n = syscall(SYS_preadv2, fd, &iov, 1L, (long)off, 0L, (long)RWF_NOWAIT);
	if (n < 0)
		goto miss;
	if ((size_t)n != len && !(S_ISREG(st.st_mode) && off + n == (long long)st.st_size)) {
		*touched = n > 0;
		goto miss;
	}
	__atomic_store_n(&nw_miss, 0, __ATOMIC_RELAXED);
	errno = e;
	return n;
miss:
	nowait_miss();
	errno = e;
	return -1;
}

/*
 * Returns 1 when CB is finished (aio_read() then returns 0), 0 when the
 * buffer is untouched, -1 when bytes were copied into it, 2 when the
 * helper thread is to take it (helper.c).
 */
int sa_read_now(struct aiocb *cb)
{
	const struct sigevent *sev = &cb->aio_sigevent;
	unsigned skip;
	long n;
	int touched;

	if (!sa_nowait || cb->aio_offset < 0 || !cb->aio_nbytes || cb->aio_nbytes > SSIZE_MAX ||
	    cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX)
		return 0;
	if (sev->sigev_notify != SIGEV_NONE &&
	    !(sev->sigev_notify == SIGEV_SIGNAL && sev->sigev_signo == 0))
		return 0;
	if (!sa_only_reads())
		return 0;
	skip = __atomic_load_n(&nw_skip, __ATOMIC_RELAXED);
	if (sa_helper_take(skip))
		return 2;
	if (skip) {
		__atomic_store_n(&nw_skip, skip - 1, __ATOMIC_RELAXED);
		return 0;
	}
	n = sa_cached_read(cb->aio_fildes, (void *)cb->aio_buf, cb->aio_nbytes, cb->aio_offset,
			   &touched);
	if (n < 0)
		return touched ? -1 : 0;
	sa_count(SA_ST_NOWAIT);
	cb->__return_value = n;
	__atomic_store_n(&cb->__error_code, 0, __ATOMIC_RELEASE);
	sa_bump_gen();
	return 1;
}
