// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "syslet": the pure logic of the engine (stop conditions,
 * the next atom, the refusal list, ring index arithmetic), and the Rust
 * implementation of umem_add() on user memory mapped into the test's own
 * mm with kunit_vm_mmap(), so the real uaccess paths (fault, read-only
 * mapping, kernel address) run.
 */
#include <kunit/test.h>
#include <linux/mman.h>
#include <asm/unistd.h>
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

static void stop_conditions(struct kunit *test)
{
	static const long results[] = { LONG_MIN, -4095, -1, 0, 1, 42, LONG_MAX };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(results); i++) {
		long r = results[i];

		KUNIT_EXPECT_FALSE(test, syslet_kunit_stops(0, r));
		KUNIT_EXPECT_EQ(test, syslet_kunit_stops(SYSLET_STOP_ON_NONZERO, r), r != 0);
		KUNIT_EXPECT_EQ(test, syslet_kunit_stops(SYSLET_STOP_ON_ZERO, r), r == 0);
		KUNIT_EXPECT_EQ(test, syslet_kunit_stops(SYSLET_STOP_ON_NEGATIVE, r), r < 0);
		KUNIT_EXPECT_EQ(test, syslet_kunit_stops(SYSLET_STOP_ON_NON_POSITIVE, r), r <= 0);
		/* Conditions combine with OR. */
		KUNIT_EXPECT_EQ(test, syslet_kunit_stops(SYSLET_STOP_ON_ZERO |
							 SYSLET_STOP_ON_NEGATIVE, r), r <= 0);
		KUNIT_EXPECT_TRUE(test, syslet_kunit_stops(SYSLET_STOP_ON_ZERO |
							   SYSLET_STOP_ON_NONZERO, r));
		/* Flags that are not stop conditions never stop. */
		KUNIT_EXPECT_FALSE(test, syslet_kunit_stops(SYSLET_SYNC | SYSLET_NO_COMPLETE |
							    SYSLET_SKIP_TO_NEXT_ON_STOP, r));
	}
}

static void next_atom(struct kunit *test)
{
	const unsigned long a = 0x10000, n = 0x20000;
	const long size = sizeof(struct syslet_uatom);

	KUNIT_ASSERT_EQ(test, size, 88);
	/* No stop: follow next, or end on NULL. */
	KUNIT_EXPECT_EQ(test, syslet_kunit_next(a, 0, n, 5), (long)n);
	KUNIT_EXPECT_EQ(test, syslet_kunit_next(a, 0, 0, 5), 0);
	/* Stop: end, even with a next pointer. */
	KUNIT_EXPECT_EQ(test, syslet_kunit_next(a, SYSLET_STOP_ON_ZERO, n, 0), 0);
	/* Stop with skip: the atom after this one in memory. */
	KUNIT_EXPECT_EQ(test, syslet_kunit_next(a, SYSLET_STOP_ON_ZERO |
					       SYSLET_SKIP_TO_NEXT_ON_STOP, n, 0), (long)(a + size));
	/* Skip without a stop: follow next. */
	KUNIT_EXPECT_EQ(test, syslet_kunit_next(a, SYSLET_STOP_ON_ZERO |
					       SYSLET_SKIP_TO_NEXT_ON_STOP, n, 1), (long)n);
	/* atom + 1 past the end of the address space is a fault. */
	KUNIT_EXPECT_EQ(test, syslet_kunit_next(ULONG_MAX - 10, SYSLET_STOP_ON_ZERO |
					       SYSLET_SKIP_TO_NEXT_ON_STOP, n, 0), -EFAULT);
}

static void refusal_list(struct kunit *test)
{
	static const unsigned long refused[] = {
		__NR_fork, __NR_vfork, __NR_clone, __NR_clone3, __NR_execve,
		__NR_execveat, __NR_exit, __NR_exit_group, __NR_rt_sigreturn,
		__NR_setuid, __NR_setgid, __NR_setresuid, __NR_setgroups,
		__NR_arch_prctl, __NR_seccomp, __NR_async_exec, __NR_async_wait,
		/* They reach commit_creds() (keyrings, Landlock domains). */
		__NR_keyctl, __NR_add_key, __NR_request_key,
		__NR_landlock_restrict_self,
	};
	static const unsigned long allowed[] = {
		__NR_read, __NR_write, __NR_openat, __NR_close, __NR_getppid,
		__NR_pread64, __NR_statx, __NR_umem_add, __NR_futex,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(refused); i++)
		KUNIT_EXPECT_TRUE_MSG(test, syslet_kunit_refused(refused[i]),
				      "nr %lu", refused[i]);
	for (i = 0; i < ARRAY_SIZE(allowed); i++)
		KUNIT_EXPECT_FALSE_MSG(test, syslet_kunit_refused(allowed[i]),
				       "nr %lu", allowed[i]);
}

static void ring_slot(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_slot(0, 8), 0UL);
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_slot(9, 8), 1UL);
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_slot(ULONG_MAX, 8), 7UL);
	/* A one-slot ring: every index lands in slot 0. */
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_slot(12345, 1), 0UL);
	/* Not a power of two: plain modulo. */
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_slot(10, 3), 1UL);
}

static void ring_pending(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_pending(0, 0), 0UL);
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_pending(5, 2), 3UL);
	/* Indices run freely and wrap modulo 2^64. */
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_pending(1, ULONG_MAX), 2UL);
	KUNIT_EXPECT_EQ(test, syslet_kunit_ring_pending(ULONG_MAX, ULONG_MAX - 3), 3UL);
}

/*
 * The pools' state machines (syslet/spare/kunit.rs, syslet/worker/kunit.rs):
 * each case answers 0, or the line of the Rust check that failed.
 */
static void spare_reserve_and_put_back(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_spare_reserve(), 0);
}

static void spare_reserve_skips_a_starting_spare(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_spare_reserve_skips(), 0);
}

static void spare_retire_ends_idle_spares_only(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_spare_retire(), 0);
}

static void worker_idle_list(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_worker_idle(), 0);
}

static void worker_taken_only_with_its_tables(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_worker_tables(), 0);
}

static void line_keeps_order(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_line_order(), 0);
}

static void line_admits_its_key_and_credentials_only(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_line_admits(), 0);
}

static void line_stalled_admits_nothing(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_line_stall(), 0);
}

static void line_abandoned_ends_its_jobs(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, syslet_kunit_line_abandon(), 0);
}

static struct kunit_case syslet_test_cases[] = {
	KUNIT_CASE(stop_conditions),
	KUNIT_CASE(next_atom),
	KUNIT_CASE(refusal_list),
	KUNIT_CASE(ring_slot),
	KUNIT_CASE(ring_pending),
	KUNIT_CASE(umem_add_zero_reads),
	KUNIT_CASE(umem_add_adds_and_stores),
	KUNIT_CASE(umem_add_wraps_like_unsigned_long),
	KUNIT_CASE(umem_add_unaligned),
	KUNIT_CASE(umem_add_faults_on_unmapped),
	KUNIT_CASE(umem_add_faults_across_page_end),
	KUNIT_CASE(umem_add_read_only_mapping),
	KUNIT_CASE(umem_add_refuses_kernel_address),
	KUNIT_CASE(spare_reserve_and_put_back),
	KUNIT_CASE(spare_reserve_skips_a_starting_spare),
	KUNIT_CASE(spare_retire_ends_idle_spares_only),
	KUNIT_CASE(worker_idle_list),
	KUNIT_CASE(worker_taken_only_with_its_tables),
	KUNIT_CASE(line_keeps_order),
	KUNIT_CASE(line_admits_its_key_and_credentials_only),
	KUNIT_CASE(line_stalled_admits_nothing),
	KUNIT_CASE(line_abandoned_ends_its_jobs),
	{}
};

static struct kunit_suite syslet_test_suite = {
	.name = "syslet",
	.test_cases = syslet_test_cases,
};
kunit_test_suite(syslet_test_suite);

MODULE_DESCRIPTION("KUnit tests for the syslet subsystem");
MODULE_LICENSE("GPL");
