// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "syslet": calls the Rust implementation of umem_add() on
 * user memory mapped into the test's own mm with kunit_vm_mmap(), so the
 * real uaccess paths (fault, read-only mapping, kernel address) run.
 */
#include <kunit/test.h>
#include <linux/mman.h>
#include <linux/syslet.h>
#include <linux/uaccess.h>

static unsigned long map_user(struct kunit *test, unsigned long len,
			      unsigned long prot)
{
	unsigned long addr = kunit_vm_mmap(test, NULL, 0, len, prot,
					   MAP_ANONYMOUS | MAP_PRIVATE, 0);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr) || !addr,
			       "kunit_vm_mmap failed: %ld", (long)addr);
	return addr;
}

static void put_word(struct kunit *test, unsigned long addr, unsigned long v)
{
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, &v, sizeof(v)), 0);
}

static unsigned long get_word(struct kunit *test, unsigned long addr)
{
	unsigned long v;

	KUNIT_ASSERT_EQ(test, copy_from_user(&v, (void __user *)addr, sizeof(v)), 0);
	return v;
}

static void umem_add_zero_reads(struct kunit *test)
{
	unsigned long p = map_user(test, PAGE_SIZE, PROT_READ | PROT_WRITE);

	put_word(test, p, 41);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(p, 0), 41);
	KUNIT_EXPECT_EQ(test, get_word(test, p), 41);
}

static void umem_add_adds_and_stores(struct kunit *test)
{
	unsigned long p = map_user(test, PAGE_SIZE, PROT_READ | PROT_WRITE);

	put_word(test, p, 40);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(p, 2), 42);
	KUNIT_EXPECT_EQ(test, get_word(test, p), 42);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(p, 1000), 1042);
	KUNIT_EXPECT_EQ(test, get_word(test, p), 1042);
}

static void umem_add_wraps_like_unsigned_long(struct kunit *test)
{
	unsigned long p = map_user(test, PAGE_SIZE, PROT_READ | PROT_WRITE);

	put_word(test, p, ULONG_MAX);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(p, 2), 1);
	KUNIT_EXPECT_EQ(test, get_word(test, p), 1);
	/* Adding ULONG_MAX is subtracting one. */
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(p, ULONG_MAX), 0);
	KUNIT_EXPECT_EQ(test, get_word(test, p), 0);
}

static void umem_add_unaligned(struct kunit *test)
{
	unsigned long p = map_user(test, PAGE_SIZE, PROT_READ | PROT_WRITE);

	put_word(test, p + 3, 7);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(p + 3, 1), 8);
	KUNIT_EXPECT_EQ(test, get_word(test, p + 3), 8);
}

static void umem_add_faults_on_unmapped(struct kunit *test)
{
	/* Below mmap_min_addr: never mapped. */
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(8, 0), -EFAULT);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(8, 1), -EFAULT);
}

static void umem_add_faults_across_page_end(struct kunit *test)
{
	unsigned long p = map_user(test, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	unsigned long last = p + PAGE_SIZE - 4;

	put_word(test, p + PAGE_SIZE - 8, 0x1111111111111111UL);
	KUNIT_ASSERT_EQ(test, vm_munmap(p + PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(last, 1), -EFAULT);
	/* Nothing was written to the part that is still mapped. */
	KUNIT_EXPECT_EQ(test, get_word(test, p + PAGE_SIZE - 8),
			0x1111111111111111UL);
}

static void umem_add_read_only_mapping(struct kunit *test)
{
	unsigned long p = map_user(test, PAGE_SIZE, PROT_READ);

	/* Reading works on a read-only page; adding faults. */
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(p, 0), 0);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add(p, 1), -EFAULT);
	KUNIT_EXPECT_EQ(test, get_word(test, p), 0);
}

static unsigned long kernel_word = 5;

static void umem_add_refuses_kernel_address(struct kunit *test)
{
	map_user(test, PAGE_SIZE, PROT_READ | PROT_WRITE);
	KUNIT_EXPECT_EQ(test, syslet_rs_umem_add((unsigned long)&kernel_word, 1),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, kernel_word, 5);
}

static struct kunit_case syslet_test_cases[] = {
	KUNIT_CASE(umem_add_zero_reads),
	KUNIT_CASE(umem_add_adds_and_stores),
	KUNIT_CASE(umem_add_wraps_like_unsigned_long),
	KUNIT_CASE(umem_add_unaligned),
	KUNIT_CASE(umem_add_faults_on_unmapped),
	KUNIT_CASE(umem_add_faults_across_page_end),
	KUNIT_CASE(umem_add_read_only_mapping),
	KUNIT_CASE(umem_add_refuses_kernel_address),
	{}
};

static struct kunit_suite syslet_test_suite = {
	.name = "syslet",
	.test_cases = syslet_test_cases,
};
kunit_test_suite(syslet_test_suite);

MODULE_DESCRIPTION("KUnit tests for the syslet subsystem");
MODULE_LICENSE("GPL");
