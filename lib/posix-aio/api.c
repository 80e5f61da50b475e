// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: the POSIX AIO entry points.
 *
 * Each is exported under glibc's names and versions (libsyslet-aio.map):
 * NAME@@GLIBC_2.34 (glibc >= 2.34, where AIO moved into libc) and
 * NAME@GLIBC_2.2.5 (programs linked against librt before), and the *64
 * names (on x86-64 struct aiocb64 is struct aiocb). lio_listio also has
 * GLIBC_2.4 (the same function) and, at GLIBC_2.2.5, glibc's old variant,
 * which sends no per-request notification. So LD_PRELOAD interposes every
 * call an existing binary makes, whichever glibc it was linked against.
 *
 * In the fallback mode every call goes to glibc's function.
 */
#include "syslet_aio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>

static int mode(void)
{
	int m = __atomic_load_n(&sa_mode, __ATOMIC_ACQUIRE);

	if (m == SA_MODE_UNSET) {
		sa_init();
		m = __atomic_load_n(&sa_mode, __ATOMIC_ACQUIRE);
	}
	if (m == SA_MODE_PASS)
		sa_count(SA_ST_PASS);
	return m;
}

static int enosys(void)
{
	errno = ENOSYS;
	return -1;
}

static int submit1(struct aiocb *cb, int op)
{
	int err = 0;

	if (sa_submit(&cb, 1, &op, NULL, &err) == 1)
		return 0;
	errno = err;
	return -1;
}

static int sa_aio_read(struct aiocb *cb)
{
	if (mode() == SA_MODE_PASS)
		return sa_real.read ? sa_real.read(cb) : enosys();
	cb->aio_lio_opcode = LIO_READ;
	int now = sa_read_now(cb);

	if (now == 1)
		return 0;
	return submit1(cb, now == 2  ? SA_READ | SA_OP_HELPER
			   : now < 0 ? SA_READ | SA_OP_STARTED : SA_READ);
}

static int sa_aio_write(struct aiocb *cb)
{
	if (mode() == SA_MODE_PASS)
		return sa_real.write ? sa_real.write(cb) : enosys();
	cb->aio_lio_opcode = LIO_WRITE;
	return submit1(cb, SA_WRITE);
}

static int sa_aio_fsync(int op, struct aiocb *cb)
{
	if (mode() == SA_MODE_PASS)
		return sa_real.fsync ? sa_real.fsync(op, cb) : enosys();
	if (op != O_SYNC && op != O_DSYNC) {
		errno = EINVAL;
		return -1;
	}
	if (fcntl(cb->aio_fildes, F_GETFL) == -1) {
		errno = EBADF;
		return -1;
	}
	cb->aio_lio_opcode = op == O_SYNC ? SA_LIO_SYNC : SA_LIO_DSYNC;
	return submit1(cb, op == O_SYNC ? SA_FSYNC : SA_FDSYNC);
}

/* Like glibc's: the fields, nothing more (no lock: async-signal-safe). */
static int sa_aio_error(const struct aiocb *cb)
{
	if (mode() == SA_MODE_PASS)
		return sa_real.error ? sa_real.error(cb) : enosys();
	sa_helper_run_ends();
	return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

/* Like glibc's: a second call returns the same value again. */
static ssize_t sa_aio_return(struct aiocb *cb)
{
	if (mode() == SA_MODE_PASS)
		return sa_real.ret ? sa_real.ret(cb) : enosys();
	sa_helper_run_ends();
	(void)__atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
	return cb->__return_value;
}

/*
 * Return 0 once any listed request is finished (or none is listed);
 * -1/EAGAIN at the timeout (relative, as POSIX says), -1/EINTR when a
 * signal handler ran. Before sleeping, take the events already in the
 * ring: a read the syslet engine completed inside io_submit() is
 * finished here without waking the reaper. When every request waited
 * for is in the io_context, the caller sleeps in io_getevents() itself
 * (reap.c): the completion wakes it, not the reaper. The wait runs with
 * the caller's signals blocked (suspend.c).
 */
static int sa_aio_suspend(const struct aiocb *const list[], int nent, const struct timespec *timeout)
{
	struct timespec abs;

	if (mode() == SA_MODE_PASS)
		return sa_real.suspend ? sa_real.suspend(list, nent, timeout) : enosys();
	sa_helper_run_ends();
	if (nent < 0) {
		errno = EINVAL;
		return -1;
	}
	/* glibc's answer to a timeout no clock can have (its futex wait fails) */
	if (timeout && (timeout->tv_sec < 0 || (unsigned long)timeout->tv_nsec >= 1000000000ul)) {
		errno = EAGAIN;
		return -1;
	}
	if (timeout) {
		clock_gettime(CLOCK_MONOTONIC, &abs);
		if (timeout->tv_sec > INT64_MAX / 2 - abs.tv_sec) {
			timeout = NULL;	/* beyond any clock: wait without one */
		} else {
			abs.tv_sec += timeout->tv_sec;
			abs.tv_nsec += timeout->tv_nsec;
			if (abs.tv_nsec >= 1000000000) {
				abs.tv_nsec -= 1000000000;
				abs.tv_sec++;
			}
		}
	}
	if (sa_suspend_done(list, nent))
		return 0;
	int rc = sa_suspend(list, nent, timeout ? &abs : NULL);

	if (rc) {
		errno = rc == EINTR ? EINTR : EAGAIN;
		return -1;
	}
	return 0;
}

static int sa_aio_cancel(int fd, struct aiocb *cb)
{
	struct sa_req *one[1], **v = one, *r;
	int n = 0, res = AIO_ALLDONE;

	if (mode() == SA_MODE_PASS)
		return sa_real.cancel ? sa_real.cancel(fd, cb) : enosys();
	if (fcntl(fd, F_GETFL) < 0) {
		errno = EBADF;
		return -1;
	}
	if (cb && cb->aio_fildes != fd) {
		errno = EINVAL;
		return -1;
	}
	if (cb && __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS)
		return AIO_ALLDONE;

	pthread_mutex_lock(&sa_lock);
	if (cb) {
		r = sa_lookup_locked(cb);
		if (!r && __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS) {
			/* finished since the check above (under the lock) */
			pthread_mutex_unlock(&sa_lock);
			return AIO_ALLDONE;
		}
		if (!r) {
			pthread_mutex_unlock(&sa_lock);
			errno = EINVAL;		/* glibc: in progress, but unknown */
			return -1;
		}
		r->refs++;
		one[n++] = r;
	} else {
		int max = 0;

		for (r = sa_fd_first_locked(fd); r; r = r->fnext)
			max += r->fd == fd;
		if (max > 1)
			v = malloc(sizeof *v * (size_t)max);
		if (!v) {
			pthread_mutex_unlock(&sa_lock);
			errno = ENOMEM;
			return -1;
		}
		for (r = sa_fd_first_locked(fd); r; r = r->fnext)
			if (r->fd == fd) {
				r->refs++;
				v[n++] = r;
			}
	}
	pthread_mutex_unlock(&sa_lock);

	/* oldest first: glibc's running request, then the queued ones */
	for (int i = 0; i < n; i++) {
		int one_res = sa_cancel_one(v[i]);

		if (one_res == AIO_NOTCANCELED)
			res = AIO_NOTCANCELED;
		else if (one_res == AIO_CANCELED && res == AIO_ALLDONE)
			res = AIO_CANCELED;
	}
	pthread_mutex_lock(&sa_lock);
	for (int i = 0; i < n; i++)
		sa_drop_locked(v[i]);
	pthread_mutex_unlock(&sa_lock);
	if (v != one)
		free(v);
	return res;
}

/* An aio_lio_opcode as glibc's worker reads it. */
static int lio_op(int c)
{
	if ((c & 127) == LIO_READ)
		return SA_READ;
	if ((c & 127) == LIO_WRITE)
		return SA_WRITE;
	if (c == SA_LIO_DSYNC)
		return SA_FDSYNC;
	if (c == SA_LIO_SYNC)
		return SA_FSYNC;
	return SA_BAD;
}

/*
 * lio_listio(), glibc's semantics: each member is submitted as by
 * aio_read()/aio_write() (its own notification too, unless OLD); LIO_NOP
 * and NULL members are skipped; a member that cannot be submitted makes
 * the call fail (its aiocb says why) while the others go on. LIO_WAIT
 * waits for every member and fails with EIO if any returned -1; nothing
 * submitted: the submission's errno. LIO_NOWAIT sends SIG once all are
 * done (at once if none was submitted).
 */
static int listio(int how, struct aiocb *const list[], int nent, struct sigevent *sig, int old)
{
	int *ops, *errs, accepted, result = 0, err = 0;
	struct sa_lio *g;

	if (how != LIO_WAIT && how != LIO_NOWAIT) {
		errno = EINVAL;
		return -1;
	}
	if (nent < 0)
		nent = 0;	/* glibc: an empty list */
	ops = calloc(2 * ((size_t)nent + 1), sizeof(int));
	g = calloc(1, sizeof *g);
	if (!ops || !g) {
		free(ops);
		free(g);
		errno = EAGAIN;
		return -1;
	}
	errs = ops + nent + 1;
	for (int i = 0; i < nent; i++) {
		ops[i] = -1;
		if (!list[i] || list[i]->aio_lio_opcode == LIO_NOP)
			continue;
		if (old)
			list[i]->aio_sigevent.sigev_notify = SIGEV_NONE;
		ops[i] = lio_op(list[i]->aio_lio_opcode);
	}
	g->left = 1;		/* held until every member is submitted */
	g->waiting = how == LIO_WAIT;
	g->sev.sigev_notify = SIGEV_NONE;
	if (sig && how == LIO_NOWAIT)
		g->sev = *sig;

	accepted = sa_submit(list, nent, ops, g, errs);
	for (int i = 0; i < nent; i++)
		if (ops[i] >= 0 && errs[i]) {
			result = -1;
			err = errs[i];
		}

	struct sa_notes notes = { 0 };

	pthread_mutex_lock(&sa_lock);
	if (__atomic_sub_fetch(&g->left, 1, __ATOMIC_ACQ_REL) == 0 && how == LIO_NOWAIT) {
		sa_notes_add(&notes, &g->sev);
		free(g);
		g = NULL;
	} else if (how == LIO_WAIT && !accepted) {
		free(g);
		g = NULL;
	}
	pthread_mutex_unlock(&sa_lock);
	sa_after(&notes, NULL);

	if (how == LIO_WAIT && g) {
		for (;;) {
			uint32_t gen = __atomic_load_n(&sa_gen, __ATOMIC_SEQ_CST);

			if (!__atomic_load_n(&g->left, __ATOMIC_ACQUIRE))
				break;
			if (sa_ring_has_events() && sa_reap() > 0)
				continue;
			if (sa_wait(gen, NULL, 0, SA_W_NEED) == EINTR) {
				/* the group frees itself when its last member ends */
				pthread_mutex_lock(&sa_lock);
				if (g->left)
					g->waiting = 0;
				else
					free(g);
				pthread_mutex_unlock(&sa_lock);
				free(ops);
				errno = EINTR;
				return -1;
			}
		}
		pthread_mutex_lock(&sa_lock);	/* the last finisher is out */
		free(g);
		pthread_mutex_unlock(&sa_lock);
		for (int i = 0; i < nent; i++)
			if (ops[i] >= 0 && !errs[i] && list[i]->__return_value == -1)
				result = -1;
		if (result)
			err = EIO;
	}
	free(ops);
	if (result)
		errno = err;
	return result;
}

static int sa_lio_listio(int how, struct aiocb *const list[], int nent, struct sigevent *sig)
{
	if (mode() == SA_MODE_PASS)
		return sa_real.listio ? sa_real.listio(how, list, nent, sig) : enosys();
	return listio(how, list, nent, sig, 0);
}

static int sa_lio_listio_old(int how, struct aiocb *const list[], int nent, struct sigevent *sig)
{
	if (mode() == SA_MODE_PASS) {
		if (sa_real.listio_old)
			return sa_real.listio_old(how, list, nent, sig);
		if (how != LIO_WAIT && how != LIO_NOWAIT) {
			errno = EINVAL;
			return -1;
		}
		for (int i = 0; i < nent; i++)
			if (list[i])
				list[i]->aio_sigevent.sigev_notify = SIGEV_NONE;
		return sa_real.listio ? sa_real.listio(how, list, nent, sig) : enosys();
	}
	return listio(how, list, nent, sig, 1);
}

/* glibc's tuning of its threads, which serve the requests it gets. */
static void sa_aio_init(const struct aioinit *init)
{
	mode();
	if (sa_real.init)
		sa_real.init(init);
}

/*
 * The exports: one alias per (name, version), each given its versioned
 * name with .symver; the version script makes the aliases' own names
 * local.
 */
#define EXPORT(impl, tag, ver)                                                                  \
	extern __typeof(impl) impl##_##tag __attribute__((alias(#impl), visibility("default"))); \
	__asm__(".symver " #impl "_" #tag ", " ver)

#define EXPORT_BOTH(impl, name)                                  \
	EXPORT(impl, a, #name "@@GLIBC_2.34");                   \
	EXPORT(impl, b, #name "@GLIBC_2.2.5");                   \
	EXPORT(impl, c, #name "64@@GLIBC_2.34");                 \
	EXPORT(impl, d, #name "64@GLIBC_2.2.5")

EXPORT_BOTH(sa_aio_read, aio_read);
EXPORT_BOTH(sa_aio_write, aio_write);
EXPORT_BOTH(sa_aio_fsync, aio_fsync);
EXPORT_BOTH(sa_aio_error, aio_error);
EXPORT_BOTH(sa_aio_return, aio_return);
EXPORT_BOTH(sa_aio_suspend, aio_suspend);
EXPORT_BOTH(sa_aio_cancel, aio_cancel);
EXPORT(sa_aio_init, a, "aio_init@@GLIBC_2.34");
EXPORT(sa_aio_init, b, "aio_init@GLIBC_2.2.5");
EXPORT(sa_lio_listio, a, "lio_listio@@GLIBC_2.34");
EXPORT(sa_lio_listio, b, "lio_listio@GLIBC_2.4");
EXPORT(sa_lio_listio, c, "lio_listio64@@GLIBC_2.34");
EXPORT(sa_lio_listio, d, "lio_listio64@GLIBC_2.4");
EXPORT(sa_lio_listio_old, a, "lio_listio@GLIBC_2.2.5");
EXPORT(sa_lio_listio_old, b, "lio_listio64@GLIBC_2.2.5");
