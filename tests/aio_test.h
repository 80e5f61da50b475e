/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the aio tests share (after kselftest_harness.h and syslet_test.h):
 * the sysctl switch, the page cache, a scratch file, the slow device.
 */
#ifndef AIO_TEST_H
#define AIO_TEST_H

#include <fcntl.h>

/* 5 ms per I/O: make test boots with --nullblk 5000000. */
#define NULLB "/dev/nullb0"

/* The blocks of the device the read and write tests use (fill_device()). */
#define NREQ 16
#define STRIDE (1 << 20)	/* 1 MiB apart: no read-ahead shares a page */

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

/* Writes a known byte into each of the NREQ blocks of the device:
 * 'a' + i into block i, at i * STRIDE. */
static inline int fill_device(void)
{
	char *buf;
	int fd, i, ok = 1;

	fd = open(NULLB, O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, 4096))
		return -1;
	for (i = 0; i < NREQ; i++) {
		memset(buf, 'a' + i, 4096);
		ok &= pwrite(fd, buf, 4096, (off_t)i * STRIDE) == 4096;
	}
	free(buf);
	close(fd);
	return ok ? 0 : -1;
}

#endif /* AIO_TEST_H */
