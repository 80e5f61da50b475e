// SPDX-License-Identifier: GPL-2.0
/*
 * The syslet tracepoints (include/trace/events/syslet.h): enable them,
 * run a chain that finishes and one that blocks, and find the events in
 * the trace buffer with the right atoms and fields. Needs root and tracefs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "syslet_test.h"

#define TRACEFS "/sys/kernel/tracing"

static int tracefs_write(const char *file, const char *v)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok ? 0 : -1;
}

static char *tracefs_read(const char *file)
{
	static char buf[1 << 16];
	char path[128];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf + total, sizeof(buf) - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = 0;
	return buf;
}

TEST(submit_async_and_complete_events)
{
	struct syslet_uatom *ring[4] = { 0 }, a, rd;
	struct async_head_user ahu = RING_HEAD(ring);
	unsigned long fd, buf, len = 4;
	char data[4], want[128];
	long r, rr;
	int p[2];
	double t0;
	char *t;

	if (access(TRACEFS "/trace", F_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (access(TRACEFS "/events/syslet", F_OK))
		SKIP(return, "no tracefs or no syslet events");
	ASSERT_EQ(0, tracefs_write("trace", ""));
	ASSERT_EQ(0, tracefs_write("events/syslet/enable", "1"));

	atom_set(&a, 0, __NR_getpid, &r, NULL, NULL);
	ASSERT_EQ((long)&a, sys_async_exec(&a, &ahu));
	ASSERT_EQ(0, pipe(p));
	fd = p[0];
	buf = (unsigned long)data;
	atom_set(&rd, 0, __NR_read, &rr, NULL, ATOM_ARGS(&fd, &buf, &len));
	ASSERT_EQ(0, sys_async_exec(&rd, &ahu));
	ASSERT_EQ(4, write(p[1], "abcd", 4));
	ASSERT_EQ(1, sys_async_wait(1, 0, &ahu));
	/*
	 * The task that posted the completion traces it after the waiter may
	 * have woken: wait for that last line (2 s at most; the checks below
	 * report a missing one).
	 */
	snprintf(want, sizeof(want), "syslet_complete: atom=0x%lx error=0 posted",
		 (unsigned long)&rd);
	for (t0 = now_ms(); now_ms() - t0 < 2000; usleep(1000)) {
		t = tracefs_read("trace");
		if (t && strstr(t, want))
			break;
	}

	ASSERT_EQ(0, tracefs_write("events/syslet/enable", "0"));
	t = tracefs_read("trace");
	ASSERT_NE(NULL, t);
	snprintf(want, sizeof(want), "syslet_submit: atom=0x%lx ahu=0x%lx", (unsigned long)&a,
		 (unsigned long)&ahu);
	EXPECT_NE(NULL, strstr(t, want)) TH_LOG("missing '%s' in:\n%s", want, t);
	snprintf(want, sizeof(want), "syslet_complete: atom=0x%lx error=0 returned",
		 (unsigned long)&a);
	EXPECT_NE(NULL, strstr(t, want)) TH_LOG("missing '%s'", want);
	snprintf(want, sizeof(want), "syslet_async: atom=0x%lx reason=blocked", (unsigned long)&rd);
	EXPECT_NE(NULL, strstr(t, want)) TH_LOG("missing '%s'", want);
	snprintf(want, sizeof(want), "syslet_complete: atom=0x%lx error=0 posted",
		 (unsigned long)&rd);
	EXPECT_NE(NULL, strstr(t, want)) TH_LOG("missing '%s'", want);
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
