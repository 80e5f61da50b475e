// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: notifications, sent as glibc sends them.
 *
 * SIGEV_SIGNAL: rt_sigqueueinfo() to the process (not a thread), si_code
 * SI_ASYNCIO, si_pid and si_uid the caller's, si_value the sigevent's.
 * SIGEV_THREAD: a new thread per notification, made with the sigevent's
 * attributes (detached when there are none; with attributes, whatever
 * they say, as glibc), running the function with no signal blocked.
 * Anything else (SIGEV_NONE, SIGEV_THREAD_ID, junk): nothing, as glibc.
 */
#include "syslet_aio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct call {
	void (*fn)(union sigval);
	union sigval v;
};

static void unblock_all(void)
{
	sigset_t none;

	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
}

static void *thread_main(void *arg)
{
	struct call c = *(struct call *)arg;

	free(arg);
	unblock_all();
	c.fn(c.v);
	return NULL;
}

static int spawn(const struct sa_note *sev)
{
	pthread_attr_t def, *attr = sev->attr;
	struct call *c = malloc(sizeof *c);
	pthread_t t;
	int rc;

	if (!c)
		return ENOMEM;
	c->fn = sev->fn;
	c->v = sev->value;
	if (!attr) {
		pthread_attr_init(&def);
		pthread_attr_setdetachstate(&def, PTHREAD_CREATE_DETACHED);
		attr = &def;
	}
	rc = pthread_create(&t, attr, thread_main, c);
	if (attr == &def)
		pthread_attr_destroy(&def);
	if (rc)
		free(c);
	return rc;
}

static int queue_signal(const struct sa_note *sev)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	si.si_signo = sev->signo;
	si.si_code = SI_ASYNCIO;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value = sev->value;
	return syscall(SYS_rt_sigqueueinfo, si.si_pid, sev->signo, &si) ? errno : 0;
}

/* Send NOTE: 0, or the errno of the failure. */
int sa_notify(const struct sa_note *sev)
{
	switch (sev->notify) {
	case SIGEV_SIGNAL:
		return queue_signal(sev);
	case SIGEV_THREAD:
		return spawn(sev);
	default:
		return 0;
	}
}

void sa_notes_add(struct sa_notes *n, const struct sigevent *sev)
{
	struct sa_note note;

	if (sev->sigev_notify != SIGEV_SIGNAL && sev->sigev_notify != SIGEV_THREAD)
		return;
	note.notify = sev->sigev_notify;
	note.signo = sev->sigev_signo;
	note.value = sev->sigev_value;
	note.fn = sev->sigev_notify_function;
	note.attr = sev->sigev_notify_attributes;
	if (n->n < SA_NOTES)
		n->v[n->n++] = note;
	else
		sa_notify(&note);	/* cannot happen: callers flush in time */
}

/* Send the notifications gathered under the lock. */
void sa_notes_send(struct sa_notes *n)
{
	for (int i = 0; i < n->n; i++)
		sa_notify(&n->v[i]);
	n->n = 0;
}
