/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tests of the leadership move share (leader_identity_test.c,
 * leader_process_test.c; after kselftest_harness.h and handoff_test.h):
 * handoffs of the calling thread's context at once, and the oracle of
 * Documentation/handoff.md, "The group leader": after a handoff of the
 * main thread the main flow is still the group leader (gettid() ==
 * getpid()), and /sys/kernel/debug/syslet/leader_check finds the
 * group's invariants whole.
 */
#ifndef LEADER_TEST_H
#define LEADER_TEST_H

#include <fcntl.h>

#define LEADER_CHECK	"/sys/kernel/debug/syslet/leader_check"

/*
 * The oracle, opened by the test program's first process (root), before
 * any case drops to nobody: the cases inherit it. One process at a time
 * asks it (the answer is the open file's).
 */
static int lc_fd = -1, lc_errno;

__attribute__((constructor)) static void lc_open(void)
{
	lc_fd = open(LEADER_CHECK, O_RDWR);
	lc_errno = errno;
}

/* 0 if the oracle says "ok" for `pid`'s group; says what it found if not. */
static inline int leader_ok(pid_t pid)
{
	char buf[128];
	ssize_t n;

	if (lc_fd < 0) {
		say("cannot open %s: %s", LEADER_CHECK, strerror(lc_errno));
		return 1;
	}
	n = snprintf(buf, sizeof(buf), "%d", pid);
	if (write(lc_fd, buf, n) != n) {
		say("leader_check: writing %d: %s", pid, strerror(errno));
		return 1;
	}
	n = read(lc_fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		say("leader_check: reading the answer for %d: %s", pid, n ? strerror(errno) : "empty");
		return 1;
	}
	buf[n] = 0;
	if (strcmp(buf, "ok\n")) {
		say("leader_check of %d: %s", pid, buf);
		return 1;
	}
	return 0;
}

/*
 * 0 if the calling flow leads its group: its TID is the PID, and the
 * oracle finds the group whole. `when` names the moment in the message.
 */
static inline int main_flow_leads(const char *when)
{
	pid_t tid = syscall(__NR_gettid);

	if (tid != getpid()) {
		say("%s: the main flow runs under TID %d, the PID is %d", when, tid, getpid());
		return 1;
	}
	return leader_ok(getpid());
}

/*
 * Hands the calling thread's context over `n` times, each at once: the
 * chain's only atom (getppid) is flagged SYSLET_ASYNC, so async_exec()
 * moves the context to a spare and returns 0 there, while the task that
 * gave it runs the atom (cachemiss_handoff_test.c:
 * async_flag_hands_off_without_blocking). Each completion is reaped.
 * 0, or the round (from 1) that did not hand off.
 */
static inline int hand_off_now(int n)
{
	struct syslet_uatom *ring[8] = { 0 }, a;
	struct async_head_user ahu = RING_HEAD(ring);
	long r, h0, ret;
	int i;

	for (i = 1; i <= n; i++) {
		h0 = syslet_stat("handoffs");
		r = NO_ATOM;
		atom_set(&a, SYSLET_ASYNC, __NR_getppid, &r, NULL, NULL);
		ret = sys_async_exec(&a, &ahu);
		if (ret != 0 || reap_deadline(&ahu, ring, 8, 5000) != &a || r != getppid() ||
		    syslet_stat("handoffs") <= h0) {
			say("handoff %d of %d: async_exec() = %#lx, atom %ld, handoffs %ld -> %ld",
			    i, n, ret, r, h0, syslet_stat("handoffs"));
			return i;
		}
	}
	return 0;
}

/* hand_off_now(n), then main_flow_leads(); 0 if both went right. */
static inline int moved_and_leads(int n)
{
	char when[48];

	if (hand_off_now(n))
		return 1;
	snprintf(when, sizeof(when), "after %d handoffs", n);
	return main_flow_leads(when);
}

/* Field `n` (from 1) of /proc/<pid>/stat, into out; 0 or -1. */
static inline int stat_field(pid_t pid, int n, char *out, size_t len)
{
	char path[64], line[1024], *p, *tok, *save;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (!p || !(p = strrchr(line, ')')))
		return -1;
	if (n == 2) {
		*p = 0;
		snprintf(out, len, "%s", strchr(line, '(') + 1);
		return 0;
	}
	for (i = 3, tok = strtok_r(p + 2, " ", &save); tok; i++, tok = strtok_r(NULL, " ", &save))
		if (i == n) {
			snprintf(out, len, "%s", tok);
			return 0;
		}
	return -1;
}

/* The value of `key:` in /proc/<pid>/status, into out; 0 or -1. */
static inline int status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t k = strlen(key);
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (rc && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':') {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%s", line + k + 1 + strspn(line + k + 1, " \t"));
			rc = 0;
		}
	fclose(f);
	return rc;
}

/* Waits up to `ms` for thread `tid` of this process to be a zombie; 1 if it is. */
static inline int wait_zombie(pid_t tid, int ms)
{
	double end = now_ms() + ms;

	while (thread_state(tid) != 'Z') {
		if (now_ms() > end)
			return 0;
		usleep(1000);
	}
	return 1;
}

#endif /* LEADER_TEST_H */
