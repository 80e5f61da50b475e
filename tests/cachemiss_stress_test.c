// SPDX-License-Identifier: GPL-2.0
/*
 * The cachemiss handoff under load: many threads, each mixing chains
 * that complete in the caller with reads that hand off, every call
 * accounted for exactly once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include "kselftest_harness.h"
#include "syslet_test.h"
#include "cachemiss_test.h"

/*
 * 10,000 async_exec calls from 4 threads, each a random choice of a
 * cached atom (getppid) or a read from one of the thread's pipes, which a
 * feeder fills later. Every call either returns its atom at once or
 * NULL and then exactly one completion.
 */
#define STRESS_THREADS	4
#define STRESS_CALLS	2500
#define STRESS_PIPES	4

struct stresser {
	int rd[STRESS_PIPES], wr[STRESS_PIPES];
	atomic_int want[STRESS_PIPES];
	atomic_int done;
	long sync, async, completed, errors;
	unsigned int seed;
};

static void *feeder(void *arg)
{
	struct stresser *s = arg;
	int t, j;

	for (;;) {
		int all_done = 1;

		for (t = 0; t < STRESS_THREADS; t++) {
			all_done &= atomic_load(&s[t].done);
			for (j = 0; j < STRESS_PIPES; j++)
				if (atomic_load(&s[t].want[j]) > 0 &&
				    write(s[t].wr[j], "y", 1) == 1)
					atomic_fetch_sub(&s[t].want[j], 1);
		}
		if (all_done)
			return NULL;
		/*
		 * Not a wait for another thread: the feeder's pace. A read finds
		 * its pipe empty (and goes asynchronous) only because its byte
		 * comes this much later.
		 */
		usleep(500);
	}
}

static void *stress_thread(void *arg)
{
	struct stresser *s = arg;
	struct syslet_uatom *ring[32] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	static __thread struct reader r[STRESS_PIPES];
	static __thread struct syslet_uatom cheap;
	static __thread long cheap_ret;
	int busy[STRESS_PIPES] = { 0 }, i, j, outstanding = 0;
	struct syslet_uatom *a;

	atom_set(&cheap, 0, __NR_getppid, &cheap_ret, NULL, NULL);
	for (i = 0; i < STRESS_CALLS; i++) {
		j = rand_r(&s->seed) % STRESS_PIPES;
		if (rand_r(&s->seed) % 2 || busy[j]) {
			if (sys_async_exec(&cheap, &ahu) == (long)&cheap && cheap_ret == getppid())
				s->sync++;
			else
				s->errors++;
		} else {
			long ret;

			reader_init(&r[j], s->rd[j]);
			r[j].len = 1;
			atomic_fetch_add(&s->want[j], 1);
			ret = sys_async_exec(&r[j].atom, &ahu);
			if (ret == 0) {
				s->async++;
				busy[j] = 1;
				outstanding++;
			} else if (ret == (long)&r[j].atom && r[j].ret == 1) {
				s->sync++;
			} else {
				s->errors++;
			}
		}
		while (outstanding && (outstanding == STRESS_PIPES || i == STRESS_CALLS - 1)) {
			a = reap(&ahu, ring, 32);
			for (j = 0; j < STRESS_PIPES; j++)
				if (a == &r[j].atom && busy[j] && r[j].ret == 1)
					break;
			if (j == STRESS_PIPES) {
				s->errors++;
				break;
			}
			busy[j] = 0;
			outstanding--;
			s->completed++;
		}
	}
	/*
	 * Nothing more may arrive: not a wait for anything, a window in which
	 * a wrong, extra completion would land (none is an event to wait for).
	 */
	usleep(20000);
	if (ring[ahu.user_ring_idx % 32])
		s->errors++;
	atomic_store(&s->done, 1);
	return NULL;
}

static int stress(void)
{
	static struct stresser s[STRESS_THREADS];
	pthread_t th[STRESS_THREADS], feed;
	long sync = 0, async = 0, completed = 0, errors = 0;
	int t, j;

	for (t = 0; t < STRESS_THREADS; t++) {
		s[t].seed = 1234 + t;
		for (j = 0; j < STRESS_PIPES; j++) {
			int p[2];

			if (pipe(p))
				return 1;
			s[t].rd[j] = p[0];
			s[t].wr[j] = p[1];
		}
	}
	pthread_create(&feed, NULL, feeder, s);
	for (t = 0; t < STRESS_THREADS; t++)
		pthread_create(&th[t], NULL, stress_thread, &s[t]);
	for (t = 0; t < STRESS_THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_join(feed, NULL);
	for (t = 0; t < STRESS_THREADS; t++) {
		sync += s[t].sync;
		async += s[t].async;
		completed += s[t].completed;
		errors += s[t].errors;
	}
	printf("# stress: %ld returned at once, %ld went async, %ld completions, %ld errors\n",
	       sync, async, completed, errors);
	if (errors || sync + async != STRESS_THREADS * STRESS_CALLS || completed != async || async < 100)
		return 2;
	return 0;
}

TEST(ten_thousand_mixed_calls_complete_exactly_once)
{
	long procs = live("processes"), spares = live("spares");

	EXPECT_EQ(0, exit_code_of(stress));
	EXPECT_TRUE(live_back_to(procs, spares));
}

TEST_HARNESS_MAIN
