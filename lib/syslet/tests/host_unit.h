/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal harness for libsyslet's host unit tests: each HOST_TEST runs
 * in a child process (a crash fails that test only) and prints a
 * libtest-style line, "test NAME ... ok" or "... FAILED", after a
 * "running N tests" line, which is what tools/report.py counts.
 */
#ifndef SYSLET_HOST_TEST_H
#define SYSLET_HOST_TEST_H

#include <stdio.h>

void ht_register(const char *name, void (*fn)(void));
void ht_fail(const char *file, int line, const char *what, long a, long b);

#define HOST_TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void reg_##name(void)	\
	{ ht_register(#name, name); }					\
	static void name(void)

/* Stops the test at the first failed check. */
#define EXPECT_EQ(want, got) do {					\
	long w_ = (long)(want), g_ = (long)(got);			\
	if (w_ != g_) {							\
		ht_fail(__FILE__, __LINE__, #want " == " #got, w_, g_);	\
		return;							\
	}								\
} while (0)
#define EXPECT_TRUE(cond) EXPECT_EQ(1, !!(cond))

#endif
