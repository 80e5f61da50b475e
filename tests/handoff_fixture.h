/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture of the handoff tests (after kselftest_harness.h and
 * handoff_test.h): every test starts with the kernel.syslet_* sysctls as
 * found (the handoff on), and the harness's process puts them back after
 * it, even if the test was killed. HTEST_SECONDS (default 60) is each
 * test's deadline: a case runs as root and as nobody, each with its own.
 *
 * as_root() and as_both() run a case in a thread that is not the group
 * leader, in a child process (run_in_thread()), and take its exit code:
 * 0 passed, CASE_SKIP skipped (the kernel or CPU lacks what it needs),
 * anything else failed (describe() says which check).
 */
#ifndef HANDOFF_FIXTURE_H
#define HANDOFF_FIXTURE_H

#ifndef HTEST_SECONDS
#define HTEST_SECONDS 60
#endif

FIXTURE(handoff) {
	int unused;
};

FIXTURE_SETUP(handoff)
{
	reset_sysctls();
}

FIXTURE_TEARDOWN_PARENT(handoff)
{
	reset_sysctls();
}

#define HTEST(name) TEST_F_TIMEOUT(handoff, name, HTEST_SECONDS)

/* One run's verdict: passed, skipped, failed. */
static inline void expect_case(struct __test_metadata *_metadata, int rc, enum who who)
{
	if (rc == CASE_SKIP)
		SKIP(return, "%s: not available here (see the lines above)", who_name(who));
	EXPECT_EQ(0, rc) TH_LOG("%s: %s", who_name(who), describe(rc));
}

static inline void as_root(struct __test_metadata *_metadata, int (*fn)(void *), void *arg)
{
	expect_case(_metadata, run_in_thread(fn, arg, AS_ROOT, 40000), AS_ROOT);
}

static inline void as_both(struct __test_metadata *_metadata, int (*fn)(void *), void *arg)
{
	expect_case(_metadata, run_in_thread(fn, arg, AS_ROOT, 40000), AS_ROOT);
	expect_case(_metadata, run_in_thread(fn, arg, AS_NOBODY, 40000), AS_NOBODY);
}

/*
 * fn in the group leader of a child process (its main thread), as root
 * and as nobody; each run must return `want` (a RUN_* value or a code).
 */
static inline void as_both_in_leader(struct __test_metadata *_metadata, int (*fn)(void *), int want)
{
	int rc1 = run_child(fn, NULL, AS_ROOT, 20000);
	int rc2 = run_child(fn, NULL, AS_NOBODY, 20000);

	EXPECT_EQ(want, rc1) TH_LOG("root: %s", describe(rc1));
	EXPECT_EQ(want, rc2) TH_LOG("nobody: %s", describe(rc2));
}

/*
 * The refusal of a state the thread set (set() just before), checked in
 * place: no handoff, the state still set (is_set()), then cleared
 * (clear()) and the same chain hands off.
 */
struct refusal {
	const char *what;
	int (*set)(void);	/* 0, -1 (failed), CASE_SKIP */
	int (*is_set)(void);	/* 1 if still set */
	int (*clear)(void);
};

static inline int refusal_case(void *arg)
{
	const struct refusal *rf = arg;
	struct chain_run c;
	int e, still;

	/* A spare made before: the state is the thread's own. */
	if (make_spare())
		return 9;
	e = rf->set();
	if (e == CASE_SKIP)
		return CASE_SKIP;
	if (e) {
		say("%s: could not set it: errno %d", rf->what, errno);
		return 10;
	}
	if (blocking_chain(&c, 1000))
		return 11;
	still = rf->is_set();
	chain_say(rf->what, &c);
	e = check_no_handoff(&c);
	if (e)
		return 20 + e;
	if (!still) {
		say("%s: no longer set after the chain", rf->what);
		return 30;
	}
	if (rf->clear())
		return 31;
	/* The control: the refusal was this state's. */
	return hand_off("cleared (control)") ? 40 : 0;
}

#endif /* HANDOFF_FIXTURE_H */
