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

#endif /* HANDOFF_FIXTURE_H */
