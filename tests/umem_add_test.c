// SPDX-License-Identifier: GPL-2.0
/*
 * umem_add(uptr, inc): one TEST per behaviour, kselftest harness.
 * Semantics: Documentation/syscalls.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "syslet_test.h"

TEST(zero_inc_reads_umem_add)
{
	unsigned long v = 41;

	ASSERT_EQ(41, sys_umem_add(&v, 0));
	ASSERT_EQ(41, v);
}

TEST(adds_and_stores_umem_add)
{
	unsigned long v = 40;

	ASSERT_EQ(42, sys_umem_add(&v, 2));
	ASSERT_EQ(42, v);
	ASSERT_EQ(1042, sys_umem_add(&v, 1000));
	ASSERT_EQ(1042, v);
}

TEST(wraps_like_unsigned_long_umem_add)
{
	unsigned long v = ULONG_MAX;

	ASSERT_EQ(1, sys_umem_add(&v, 2));
	ASSERT_EQ(1, v);
	/* Adding ULONG_MAX subtracts one. */
	ASSERT_EQ(0, sys_umem_add(&v, ULONG_MAX));
	ASSERT_EQ(0, v);
}

TEST(large_value_is_returned_as_long_umem_add)
{
	/* Values above LONG_MAX come back as the negative long with the same
	 * bits; only -4095..-1 are ambiguous with errors (documented). */
	unsigned long v = 1UL << 62;

	ASSERT_EQ((long)(3UL << 62), sys_umem_add(&v, 2UL << 62));
	ASSERT_EQ(3UL << 62, v);
}

TEST(unaligned_umem_add)
{
	char buf[32] __attribute__((aligned(8)));
	unsigned long v = 7, out;

	memcpy(buf + 3, &v, sizeof(v));
	ASSERT_EQ(8, sys_umem_add((unsigned long *)(buf + 3), 1));
	memcpy(&out, buf + 3, sizeof(out));
	ASSERT_EQ(8, out);
}

TEST(null_is_efault_umem_add)
{
	errno = 0;
	ASSERT_EQ(-1, sys_umem_add(NULL, 0));
	ASSERT_EQ(EFAULT, errno);
	errno = 0;
	ASSERT_EQ(-1, sys_umem_add(NULL, 1));
	ASSERT_EQ(EFAULT, errno);
}

TEST(kernel_address_is_efault_umem_add)
{
	errno = 0;
	ASSERT_EQ(-1, sys_umem_add((unsigned long *)0xffffffff81000000UL, 1));
	ASSERT_EQ(EFAULT, errno);
}

TEST(read_only_page_umem_add)
{
	unsigned long *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	*p = 9;
	ASSERT_EQ(0, mprotect(p, 4096, PROT_READ));
	/* Reading a read-only word works, adding to it faults. */
	ASSERT_EQ(9, sys_umem_add(p, 0));
	errno = 0;
	ASSERT_EQ(-1, sys_umem_add(p, 1));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(9, *p);
	munmap(p, 4096);
}

TEST(crossing_into_unmapped_page_umem_add)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p + 4096, 4096));
	memset(p + 4092, 0x5a, 4);
	errno = 0;
	ASSERT_EQ(-1, sys_umem_add((unsigned long *)(p + 4092), 1));
	ASSERT_EQ(EFAULT, errno);
	/* The mapped half was not written. */
	ASSERT_EQ(0x5a, (unsigned char)p[4092]);
	ASSERT_EQ(0x5a, (unsigned char)p[4095]);
	munmap(p, 4096);
}

TEST(counts_a_loop_umem_add)
{
	/* The 2007 use: a counter a chain tests with STOP_ON_ZERO. */
	unsigned long left = 1000;
	int i;

	for (i = 0; i < 1000; i++)
		ASSERT_EQ((long)(999 - i), sys_umem_add(&left, -1UL));
	ASSERT_EQ(0, left);
}

TEST(reserved_numbers_are_enosys)
{
	int nr;

	for (nr = 606; nr <= 615; nr++) {	/* 605 is fdup() */
		errno = 0;
		EXPECT_EQ(-1, syscall(nr, 0, 0, 0)) TH_LOG("syscall %d", nr);
		EXPECT_EQ(ENOSYS, errno) TH_LOG("syscall %d", nr);
	}
}

TEST_HARNESS_MAIN
