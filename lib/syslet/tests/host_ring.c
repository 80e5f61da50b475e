// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of the ring's index arithmetic and consumption. The
 * kernel's side is played by post(): slot kernel_ring_idx % nslots, then
 * kernel_ring_idx + 1, as Documentation/syslets.md ("The ring") says.
 * Only paths that never sleep are run (no system call is reached).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslet.h>
#include "host_unit.h"

static void post(struct syslet_ring *r, struct syslet_uatom *a)
{
	r->slots[r->head.kernel_ring_idx % r->nslots] = a;
	__atomic_store_n(&r->head.kernel_ring_idx, r->head.kernel_ring_idx + 1,
			 __ATOMIC_RELEASE);
}

/* The kernel never overwrites a slot user space has not cleared: it waits
 * (here: 0, nothing posted). 1 when posted. */
static int try_post(struct syslet_ring *r, struct syslet_uatom *a)
{
	if (r->slots[r->head.kernel_ring_idx % r->nslots])
		return 0;
	post(r, a);
	return 1;
}

static const struct timespec zero = { 0, 0 };

HOST_TEST(ring_init_errors)
{
	struct syslet_uatom *slots[4];
	struct syslet_ring r;

	EXPECT_EQ(-EINVAL, syslet_ring_init(NULL, 4));
	EXPECT_EQ(-EINVAL, syslet_ring_init(&r, 0));
	EXPECT_EQ(-EINVAL, syslet_ring_init(&r, SYSLET_RING_MAX_ENTRIES + 1));
	EXPECT_EQ(-EINVAL, syslet_ring_init_mem(&r, NULL, sizeof(slots)));
	EXPECT_EQ(-EINVAL, syslet_ring_init_mem(&r, slots, 0));
	EXPECT_EQ(-EINVAL, syslet_ring_init_mem(&r, slots, 12));
	EXPECT_EQ(-EINVAL, syslet_ring_init_mem(&r, (void *)((char *)slots + 4), 16));
	EXPECT_EQ(-EINVAL, syslet_ring_init_mem(NULL, slots, sizeof(slots)));
}

HOST_TEST(ring_init_sets_up_the_head)
{
	struct syslet_ring r;

	EXPECT_EQ(0, syslet_ring_init(&r, 5));
	EXPECT_TRUE(r.head.completion_ring == r.slots);
	EXPECT_EQ(5 * sizeof(void *), r.head.ring_size_bytes);
	EXPECT_EQ(5, r.nslots);
	EXPECT_EQ(0, r.head.kernel_ring_idx);
	EXPECT_EQ(0, r.head.user_ring_idx);
	EXPECT_TRUE(r.head.head_stack == NULL && r.head.new_thread_eip == NULL);
	for (int i = 0; i < 5; i++)
		EXPECT_TRUE(r.slots[i] == NULL);
	syslet_ring_exit(&r);
	EXPECT_TRUE(r.slots == NULL);
}

HOST_TEST(an_empty_ring_has_nothing_to_peek_or_advance)
{
	struct syslet_uatom *slots[2], *a = NULL, *batch[2];
	struct syslet_ring r;

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	EXPECT_EQ(0, syslet_ring_ready(&r));
	EXPECT_EQ(-EAGAIN, syslet_ring_peek(&r, &a));
	EXPECT_EQ(0, syslet_ring_peek_batch(&r, batch, 2));
	EXPECT_EQ(-EINVAL, syslet_ring_advance(&r, 1));
	EXPECT_EQ(0, syslet_ring_advance(&r, 0));
	EXPECT_EQ(0, r.head.user_ring_idx);
}

HOST_TEST(completions_are_consumed_in_order_and_their_slots_cleared)
{
	struct syslet_uatom *slots[4], atoms[3], *a, *batch[4];
	struct syslet_ring r;

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	post(&r, &atoms[0]);
	post(&r, &atoms[1]);
	post(&r, &atoms[2]);
	EXPECT_EQ(3, syslet_ring_ready(&r));
	EXPECT_EQ(0, syslet_ring_peek(&r, &a));
	EXPECT_TRUE(a == &atoms[0]);
	EXPECT_EQ(2, syslet_ring_peek_batch(&r, batch, 2));	/* bounded by max */
	EXPECT_EQ(3, syslet_ring_peek_batch(&r, batch, 4));	/* and by ready */
	EXPECT_TRUE(batch[0] == &atoms[0] && batch[1] == &atoms[1] && batch[2] == &atoms[2]);
	/* More than there are: refused, nothing consumed. */
	EXPECT_EQ(-EINVAL, syslet_ring_advance(&r, 4));
	EXPECT_EQ(3, syslet_ring_ready(&r));
	EXPECT_EQ(0, syslet_ring_advance(&r, 2));
	EXPECT_TRUE(slots[0] == NULL && slots[1] == NULL && slots[2] == &atoms[2]);
	EXPECT_EQ(2, r.head.user_ring_idx);
	EXPECT_EQ(1, syslet_ring_ready(&r));
	EXPECT_EQ(0, syslet_ring_reap(&r, &a, &zero));
	EXPECT_TRUE(a == &atoms[2]);
	EXPECT_TRUE(slots[2] == NULL);
	EXPECT_EQ(0, syslet_ring_ready(&r));
	EXPECT_EQ(-ETIME, syslet_ring_reap(&r, &a, &zero));
	EXPECT_EQ(-EINVAL, syslet_ring_reap(&r, NULL, &zero));
}

HOST_TEST(indices_wrap_at_two_to_the_64_with_any_slot_count)
{
	struct syslet_uatom *slots[3], atoms[5], *a;
	struct syslet_ring r;
	unsigned long start = -2UL;	/* two steps before the wrap */
	int i;

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	r.head.kernel_ring_idx = r.head.user_ring_idx = start;
	/* 2^64 is 1 modulo 3: index 2^64 - 1 and index 0 share slot 0. The
	 * rule (slot = index % slots) is the same on both sides, and the
	 * kernel does not overwrite a slot that is not cleared, so order
	 * holds; the ring just holds one fewer across the wrap. */
	EXPECT_EQ(1, try_post(&r, &atoms[0]));		/* index -2: slot 2 */
	EXPECT_TRUE(slots[2] == &atoms[0]);
	EXPECT_EQ(1, try_post(&r, &atoms[1]));		/* index -1: slot 0 */
	EXPECT_TRUE(slots[0] == &atoms[1]);
	EXPECT_EQ(0, try_post(&r, &atoms[2]));		/* index 0: slot 0, busy */
	EXPECT_EQ(2, syslet_ring_ready(&r));
	EXPECT_EQ(0, syslet_ring_peek(&r, &a));
	EXPECT_TRUE(a == &atoms[0]);
	EXPECT_EQ(0, syslet_ring_advance(&r, 1));
	EXPECT_EQ(0, try_post(&r, &atoms[2]));		/* slot 0 still busy */
	EXPECT_EQ(0, syslet_ring_peek(&r, &a));
	EXPECT_TRUE(a == &atoms[1]);
	EXPECT_EQ(0, syslet_ring_advance(&r, 1));
	EXPECT_EQ(0, r.head.user_ring_idx);		/* wrapped */
	for (i = 2; i < 5; i++)
		EXPECT_EQ(1, try_post(&r, &atoms[i]));	/* indices 0, 1, 2 */
	EXPECT_EQ(3, syslet_ring_ready(&r));
	EXPECT_EQ(3, r.head.kernel_ring_idx);
	for (i = 2; i < 5; i++) {
		EXPECT_EQ(0, syslet_ring_peek(&r, &a));
		EXPECT_TRUE(a == &atoms[i]);
		EXPECT_EQ(0, syslet_ring_advance(&r, 1));
	}
	EXPECT_EQ(0, syslet_ring_ready(&r));
	EXPECT_EQ(3, r.head.user_ring_idx);
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(slots[i] == NULL);
}

HOST_TEST(a_power_of_two_ring_wraps_without_losing_a_slot)
{
	struct syslet_uatom *slots[4], atoms[4], *batch[4];
	struct syslet_ring r;
	int i;

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	r.head.kernel_ring_idx = r.head.user_ring_idx = -2UL;
	for (i = 0; i < 4; i++)
		EXPECT_EQ(1, try_post(&r, &atoms[i]));
	EXPECT_EQ(0, try_post(&r, &atoms[0]));		/* full */
	EXPECT_EQ(4, syslet_ring_peek_batch(&r, batch, 4));
	for (i = 0; i < 4; i++)
		EXPECT_TRUE(batch[i] == &atoms[i]);
	EXPECT_EQ(0, syslet_ring_advance(&r, 4));
	EXPECT_EQ(2, r.head.user_ring_idx);
}

HOST_TEST(ready_is_the_wrapping_distance)
{
	struct syslet_uatom *slots[4];
	struct syslet_ring r;

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	r.head.kernel_ring_idx = 1;
	r.head.user_ring_idx = -2UL;
	EXPECT_EQ(3, syslet_ring_ready(&r));
}

HOST_TEST(timed_wait_checks_and_answers_without_sleeping)
{
	struct syslet_uatom *slots[2], atom;
	struct syslet_ring r, uninit = { 0 };
	struct timespec bad = { 0, 1000000000L }, neg = { -1, 0 };

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	EXPECT_EQ(-EINVAL, syslet_ring_wait_timeout(&r, 1, &bad));
	EXPECT_EQ(-EINVAL, syslet_ring_wait_timeout(&r, 1, &neg));
	EXPECT_EQ(-EINVAL, syslet_ring_wait_timeout(&r, 3, &zero));	/* min > slots */
	EXPECT_EQ(-EINVAL, syslet_ring_wait_timeout(&uninit, 1, &zero));
	EXPECT_EQ(-EINVAL, syslet_ring_wait_timeout(NULL, 1, &zero));
	EXPECT_EQ(-ETIME, syslet_ring_wait_timeout(&r, 1, &zero));
	EXPECT_EQ(0, syslet_ring_wait_timeout(&r, 0, &zero));
	post(&r, &atom);
	EXPECT_EQ(1, syslet_ring_wait_timeout(&r, 1, &zero));
	EXPECT_EQ(-ETIME, syslet_ring_wait_timeout(&r, 2, &zero));
	/* Enough already there: no sleep even with a long timeout. */
	bad.tv_sec = 1000;
	bad.tv_nsec = 0;
	EXPECT_EQ(1, syslet_ring_wait_timeout(&r, 1, &bad));
}

HOST_TEST(chain_reap_consumes_a_chain_completion_and_marks_it_done)
{
	struct syslet_uatom *slots[4], foreign = { 0 };
	struct syslet_chain c, *got = NULL;
	struct syslet_ring r;

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(1, syslet_chain_call(&c, __NR_getpid));
	c.busy = 1;		/* as after a submit that went asynchronous */
	EXPECT_EQ(-ETIME, syslet_chain_reap(&r, &got, &zero));
	EXPECT_EQ(-EINVAL, syslet_chain_reap(&r, NULL, &zero));
	post(&r, syslet_chain_atom(&c, 1));	/* it stopped at atom 1 */
	EXPECT_EQ(0, syslet_chain_reap(&r, &got, &zero));
	EXPECT_TRUE(got == &c);
	EXPECT_EQ(0, c.busy);
	EXPECT_EQ(1, syslet_chain_last(&c));
	EXPECT_EQ(0, syslet_ring_ready(&r));
	/* An atom that is no library chain's stays in the ring. */
	post(&r, &foreign);
	EXPECT_EQ(-EPROTO, syslet_chain_reap(&r, &got, &zero));
	EXPECT_EQ(1, syslet_ring_ready(&r));
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(timeout_signal_must_be_a_realtime_signal)
{
	int old = syslet_timeout_signal();

	EXPECT_EQ(SIGRTMAX - 2, old);
	EXPECT_EQ(-EINVAL, syslet_set_timeout_signal(SIGINT));
	EXPECT_EQ(-EINVAL, syslet_set_timeout_signal(SIGRTMAX + 1));
	EXPECT_EQ(-EINVAL, syslet_set_timeout_signal(0));
	EXPECT_EQ(0, syslet_set_timeout_signal(SIGRTMIN + 1));
	EXPECT_EQ(SIGRTMIN + 1, syslet_timeout_signal());
}
