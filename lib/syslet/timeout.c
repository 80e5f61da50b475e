// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * async_wait() with a timeout. The kernel's async_wait() has none
 * (Documentation/syslets.md): it returns when enough completions are
 * there or when a signal arrives. So a timed wait arms a POSIX timer on
 * CLOCK_MONOTONIC that sends the timeout signal to the waiting thread
 * (SIGEV_THREAD_ID) at the deadline, and then every millisecond: a
 * signal that lands between the timer's arming and the wait's entry into
 * the kernel interrupts nothing, the next one does. The handler does
 * nothing and is installed without SA_RESTART, so async_wait() fails with
 * EINTR; past the deadline that is -ETIME.
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "internal.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* After the deadline, the timer fires again this often (ns). */
#define RETRY_NS	1000000L

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int chosen_signo;	/* 0: the default, SIGRTMAX - 2 */
static int sleeping;		/* timed waits between arming and disarming */
/* Signals of ours this thread handled: tells an early (stale) timer
 * signal from another signal. */
static __thread unsigned long hits __attribute__((tls_model("initial-exec")));

static void on_timeout(int sig)
{
	(void)sig;
	hits++;
}

SYSLET_API int syslet_timeout_signal(void)
{
	int s = __atomic_load_n(&chosen_signo, __ATOMIC_ACQUIRE);

	return s ? s : SIGRTMAX - 2;
}

SYSLET_API int syslet_set_timeout_signal(int signo)
{
	int err = 0;

	if (signo < SIGRTMIN || signo > SIGRTMAX)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	if (sleeping)
		err = -EBUSY;
	else
		__atomic_store_n(&chosen_signo, signo, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
	return err;
}

/* Under the lock: the signal's handler is ours (installed now if it had
 * none), or -EBUSY. */
static int own_signal(int signo)
{
	struct sigaction old, sa = { .sa_handler = on_timeout };

	if (sigaction(signo, NULL, &old))
		return -EINVAL;
	if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == on_timeout)
		return 0;
	if ((old.sa_flags & SA_SIGINFO) ||
	    (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN))
		return -EBUSY;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART: the wait must end */
	return sigaction(signo, &sa, NULL) ? -EINVAL : 0;
}

/* Sleeps in async_wait() until the deadline; the count or -errno. */
static long timed_wait(struct syslet_ring *r, unsigned long min, const struct timespec *abs,
		       int signo)
{
	struct sigevent sev = { 0 };
	struct itimerspec its = { 0 };
	sigset_t one, old;
	timer_t timer;
	long n;

	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = signo;
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
		return -EAGAIN;
	sigemptyset(&one);
	sigaddset(&one, signo);
	pthread_sigmask(SIG_UNBLOCK, &one, &old);
	its.it_value = *abs;
	its.it_interval.tv_nsec = RETRY_NS;
	timer_settime(timer, TIMER_ABSTIME, &its, NULL);
	for (;;) {
		unsigned long before = hits;

		n = syslet_async_wait(min, r->head.user_ring_idx, &r->head);
		if (n != -EINTR)
			break;
		if (sl_passed(abs)) {
			n = -ETIME;
			break;
		}
		/* Only a stale signal of ours: wait on; anything else is the
		 * caller's EINTR. */
		if (hits == before)
			break;
	}
	/* Still unblocked: a signal the timer queued is delivered (and
	 * ignored) on the way back from timer_delete(). */
	timer_delete(timer);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

SYSLET_API long syslet_ring_wait_timeout(struct syslet_ring *r, unsigned long min,
					 const struct timespec *timeout)
{
	struct timespec abs;
	unsigned long ready;
	int signo, err, saved_errno;
	long n;

	if (!r || sl_check_timeout(timeout))
		return -EINVAL;
	if (!timeout)
		return syslet_ring_wait(r, min);
	if (!r->slots || min > r->nslots)
		return -EINVAL;
	ready = syslet_ring_ready(r);
	if (ready >= min)
		return (long)ready;
	if (!timeout->tv_sec && !timeout->tv_nsec)
		return -ETIME;
	saved_errno = errno;	/* libc's calls below may set it */
	sl_deadline(&abs, timeout);
	pthread_mutex_lock(&lock);
	signo = syslet_timeout_signal();
	err = own_signal(signo);
	if (!err)
		sleeping++;
	pthread_mutex_unlock(&lock);
	if (err) {
		errno = saved_errno;
		return err;
	}
	n = timed_wait(r, min, &abs, signo);
	pthread_mutex_lock(&lock);
	sleeping--;
	pthread_mutex_unlock(&lock);
	errno = saved_errno;
	return n;
}
