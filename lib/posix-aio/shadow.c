// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: requests served by glibc ("shadows").
 *
 * A request io_submit() cannot take (a pipe, a socket, a character
 * device, anything it refuses) goes to glibc's own aio_read()/
 * aio_write()/aio_fsync() as a shadow aiocb with SIGEV_NONE. A watcher
 * thread waits for it in glibc's aio_suspend() and finishes the caller's
 * aiocb. Watchers are pooled: one per shadow in flight, kept 10 s idle.
 *
 * Two simpler designs were built and dropped:
 * - a SIGEV_THREAD notification per shadow: glibc starts that thread with
 *   no signal blocked, so a process-directed signal every thread of the
 *   program blocks (signalfd or sigwait() programs) could be delivered
 *   there, default action included, before it could block it. Watchers
 *   block every signal from birth;
 * - one waiter over all shadows, woken for a new one by a read of a
 *   private pipe: a library must own no file descriptor, which a program
 *   may close (daemons close them all), or reuse the number of.
 */
#include "syslet_aio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDLE_SECONDS 10

static struct sa_req *wq_head, *wq_tail;	/* handed, not yet watched */
static unsigned spare;		/* idle watchers no shadow is promised to */
static pthread_cond_t wcond;
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;

static void cond_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&wcond, &a);
	pthread_condattr_destroy(&a);
}

/* R's shadow: R's transfer, marked in progress (an aio_cancel() before
 * glibc has it answers AIO_NOTCANCELED, not a result), no notification. */
void sa_shadow_init(struct sa_req *r)
{
	struct aiocb *s = &r->shadow;

	memset(s, 0, sizeof *s);
	s->aio_fildes = r->fd;
	s->aio_buf = r->buf;
	s->aio_nbytes = r->len;
	s->aio_offset = r->off;
	s->aio_reqprio = r->cb->aio_reqprio;
	s->aio_sigevent.sigev_notify = SIGEV_NONE;
	s->__error_code = EINPROGRESS;
}

/* Wait for one shadow at a time, until idle for IDLE_SECONDS. */
static void *watcher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&sa_lock);
	for (;;) {
		struct sa_notes notes = { 0 };
		struct sa_req *r, *batch;
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += IDLE_SECONDS;
		while (!wq_head) {
			if (pthread_cond_timedwait(&wcond, &sa_lock, &until) == ETIMEDOUT &&
			    !wq_head && spare) {
				spare--;	/* this one: nothing is promised to it */
				pthread_mutex_unlock(&sa_lock);
				return NULL;
			}
		}
		r = wq_head;
		wq_head = r->gnext;
		if (!wq_head)
			wq_tail = NULL;
		r->gnext = NULL;
		pthread_mutex_unlock(&sa_lock);

		/* glibc ends every request it has (done or cancelled) with
		 * another code than EINPROGRESS; aio_suspend() returns then */
		const struct aiocb *l[1] = { &r->shadow };

		while (__atomic_load_n(&r->shadow.__error_code, __ATOMIC_ACQUIRE) == EINPROGRESS)
			sa_real.suspend(l, 1, NULL);

		pthread_mutex_lock(&sa_lock);
		sa_finish_locked(r, r->shadow.__error_code, r->shadow.__return_value, &notes);
		sa_drop_locked(r);	/* the watcher's reference */
		spare++;
		batch = sa_pump_locked();
		pthread_mutex_unlock(&sa_lock);
		sa_after(&notes, batch);
		pthread_mutex_lock(&sa_lock);
	}
}

/* Promise a watcher to a new shadow, making one if none is idle. */
static int promise_locked(void)
{
	if (!spare) {
		if (sa_spawn(watcher, NULL, 128 * 1024, "syslet-aio-w"))
			return 0;
		spare++;
	}
	spare--;
	return 1;
}

/*
 * Hand R to glibc: 0, or the errno of glibc's synchronous failure (then
 * R's shadow fields say what glibc says). Without a watcher to be had the
 * request fails with EAGAIN before glibc sees it.
 */
int sa_shadow_start(struct sa_req *r)
{
	struct aiocb *s = &r->shadow;
	int rc;

	pthread_once(&cond_once, cond_init);
	pthread_mutex_lock(&sa_lock);
	rc = promise_locked();
	pthread_mutex_unlock(&sa_lock);
	if (!rc)
		return EAGAIN;
	sa_count(SA_ST_GLIBC);
	switch (r->op) {
	case SA_READ:
		rc = sa_real.read(s);
		break;
	case SA_WRITE:
		rc = sa_real.write(s);
		break;
	default:
		rc = sa_real.fsync(r->op == SA_FSYNC ? O_SYNC : O_DSYNC, s);
		break;
	}
	rc = rc ? errno : 0;
	pthread_mutex_lock(&sa_lock);
	if (rc) {
		spare++;	/* promised in vain */
	} else {
		r->gnext = NULL;
		if (wq_tail)
			wq_tail->gnext = r;
		else
			wq_head = r;
		wq_tail = r;
		pthread_cond_signal(&wcond);
	}
	pthread_mutex_unlock(&sa_lock);
	return rc;
}

/*
 * fork() child: no watcher. The parent's shadows stay unfinished, as glibc
 * leaves its own requests there (glibc's copied state answers for them).
 */
void sa_shadow_fork_child(void)
{
	wq_head = wq_tail = NULL;
	spare = 0;
	cond_init();
}
