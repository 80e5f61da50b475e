/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the aio tests share (after kselftest_harness.h and syslet_test.h):
 * the sysctl switch, the page cache, a scratch file, the slow device.
 */
#ifndef AIO_TEST_H
#define AIO_TEST_H

/* 5 ms per I/O: make test boots with --nullblk 5000000. */
#define NULLB "/dev/nullb0"

static inline int set_syslet_aio(int on)
{
	return write_number("/proc/sys/kernel/syslet_aio", on);
}

static inline void drop_caches(void)
{
	FILE *f = fopen("/proc/sys/vm/drop_caches", "w");

	if (f) {
		fputs("3\n", f);
		fclose(f);
	}
}

/* An unlinked temporary file, open for reading and writing. */
static inline int temp_file(void)
{
	char path[] = "/tmp/aio-test-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

#endif /* AIO_TEST_H */
