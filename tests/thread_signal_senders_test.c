// SPDX-License-Identifier: GPL-2.0
/*
 * Every kind of thread-directed signal reaches a thread that hands off
 * over and over (patches/0027). A handoff gives the thread's TID, with
 * its user context, to the spare that takes it over; a sender that looked
 * the TID up just before the exchange, and queued the signal once it held
 * the siglock of the task it found, queued it on the task that gave the
 * TID away, which never delivers it. Besides tgkill() and
 * rt_tgsigqueueinfo() (leader_race_peers_test.c), the senders that name
 * a thread by its TID or its struct pid:
 *
 *   - a POSIX timer with SIGEV_THREAD_ID (send_sigqueue());
 *   - an F_OWNER_TID owner of O_ASYNC I/O (send_sigio(), F_SETSIG);
 *   - pidfd_send_signal() on a thread's pidfd (PIDFD_THREAD).
 *
 * Each sends PINGS signals one at a time, each after the one before was
 * handled, to a second thread that hands off in a loop; a signal not
 * handled within 2 s is lost. The handler must run in the thread the TID
 * names (its gettid() is the TID). The window is a few instructions wide:
 * under TCG these cases guard the path more than they show the race.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"

#define PINGS		300
#define PING_SIG	(SIGRTMIN + 2)
#ifndef PIDFD_THREAD
#define PIDFD_THREAD	O_EXCL
#endif

static pid_t worker_tid;
static int handled, wrong_thread, pipe_fds[2] = { -1, -1 };
static atomic_int done;

static void on_ping(int sig, siginfo_t *si, void *uc)
{
	char drain[16];

	if (syscall(SYS_gettid) != worker_tid)
		__atomic_add_fetch(&wrong_thread, 1, __ATOMIC_RELAXED);
	if (pipe_fds[0] >= 0)
		while (read(pipe_fds[0], drain, sizeof(drain)) > 0)
			;
	__atomic_add_fetch(&handled, 1, __ATOMIC_RELEASE);
}

/* The second thread: hands off until the pings are done. */
static void *hand_off_until_done(void *moves)
{
	word_set((int *)&worker_tid, (int)syscall(SYS_gettid));
	while (!atomic_load(&done)) {
		thread_hand_off();
		__atomic_add_fetch((long *)moves, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* On a failure: where the worker's TID stands with its signals. */
static void say_worker_signals(void)
{
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", worker_tid);
	f = fopen(path, "r");
	if (!f) {
		say("%s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "State:", 6) || !strncmp(line, "SigPnd:", 7) ||
		    !strncmp(line, "ShdPnd:", 7) || !strncmp(line, "SigBlk:", 7))
			say("thread %d: %s", worker_tid, strtok(line, "\n"));
	fclose(f);
}

/*
 * Sends PINGS signals with send(k, arg), each once the one before was
 * handled, to a thread that hands off meanwhile; 0 if all came.
 */
static int ping_race(int (*send)(int k, void *arg), void *arg, int (*prepare)(void *arg))
{
	struct sigaction sa = { .sa_sigaction = on_ping, .sa_flags = SA_SIGINFO | SA_RESTART };
	long moves = 0, handoffs = syslet_stat("handoffs");
	int rc = race_setup();
	pthread_t w;

	if (rc)
		return rc;
	if (sigaction(PING_SIG, &sa, NULL) ||
	    pthread_create(&w, NULL, hand_off_until_done, &moves) ||
	    !word_wait((int *)&worker_tid, 1, 10000))
		return 2;
	rc = prepare ? prepare(arg) : 0;
	for (int k = 0; !rc && k < PINGS; k++) {
		if (k % 4 == 0)
			usleep(300);	/* the thread moves between the signals */
		if (send(k, arg))
			rc = race_fail(3, "ping %d: %s", k, strerror(errno));
		else if (!word_wait(&handled, k + 1, 2000)) {
			rc = race_fail(4, "ping %d never handled (%d were), after %ld moves",
				       k, __atomic_load_n(&handled, __ATOMIC_ACQUIRE), moves);
			say_worker_signals();
		}
	}
	atomic_store(&done, 1);
	pthread_join(w, NULL);
	handoffs = syslet_stat("handoffs") - handoffs;
	say("%d pings handled, %ld rounds, %ld handoffs", handled, moves, handoffs);
	if (!rc && wrong_thread)
		rc = race_fail(5, "%d pings handled outside the thread their TID names", wrong_thread);
	if (!rc && handled != PINGS)
		rc = race_fail(6, "%d pings handled, want %d", handled, PINGS);
	if (!rc && handoffs < RACE_MIN_MOVES)
		rc = race_fail(7, "only %ld handoffs while the pings came", handoffs);
	return rc;
}

/* ---- a POSIX timer with SIGEV_THREAD_ID ------------------------------- */

static int arm_timer(int k, void *arg)
{
	struct itimerspec its = { .it_value = { 0, 20000 } };

	return timer_settime(*(timer_t *)arg, 0, &its, NULL);
}

static int make_timer(void *arg)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = PING_SIG };

	sev._sigev_un._tid = worker_tid;
	return timer_create(CLOCK_MONOTONIC, &sev, arg) ? race_fail(8, "timer_create: %s",
								 strerror(errno)) : 0;
}

static int timer_race(void *unused)
{
	timer_t timer;

	return ping_race(arm_timer, &timer, make_timer);
}

HTEST(sigev_thread_id_timers_reach_a_thread_during_its_handoffs)
{
	RACE(timer_race, NULL);
}

/* ---- an F_OWNER_TID owner of O_ASYNC I/O ------------------------------ */

static int write_byte(int k, void *arg)
{
	return write(pipe_fds[1], "p", 1) == 1 ? 0 : -1;
}

static int own_pipe(void *arg)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = worker_tid };

	if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) ||
	    fcntl(pipe_fds[0], F_SETOWN_EX, &owner) ||
	    fcntl(pipe_fds[0], F_SETSIG, PING_SIG) ||
	    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK | O_ASYNC))
		return race_fail(9, "the O_ASYNC pipe: %s", strerror(errno));
	return 0;
}

static int sigio_race(void *unused)
{
	return ping_race(write_byte, NULL, own_pipe);
}

HTEST(f_owner_tid_signals_reach_a_thread_during_its_handoffs)
{
	RACE(sigio_race, NULL);
}

/* ---- pidfd_send_signal() on a thread's pidfd -------------------------- */

static int pidfd_ping(int k, void *arg)
{
	siginfo_t si = { .si_signo = PING_SIG, .si_code = SI_QUEUE };

	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = k;
	return syscall(SYS_pidfd_send_signal, *(int *)arg, PING_SIG, &si, 0);
}

static int open_thread_pidfd(void *arg)
{
	*(int *)arg = syscall(SYS_pidfd_open, worker_tid, PIDFD_THREAD);
	if (*(int *)arg < 0 && errno == EINVAL) {
		say("pidfd_open(PIDFD_THREAD): EINVAL, a kernel before 6.9");
		return CASE_SKIP;
	}
	return *(int *)arg < 0 ? race_fail(10, "pidfd_open: %s", strerror(errno)) : 0;
}

static int pidfd_race(void *unused)
{
	int pidfd = -1;

	return ping_race(pidfd_ping, &pidfd, open_thread_pidfd);
}

HTEST(thread_pidfd_signals_reach_a_thread_during_its_handoffs)
{
	RACE(pidfd_race, NULL);
}

TEST_HARNESS_MAIN
