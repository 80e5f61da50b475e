/* SPDX-License-Identifier: GPL-2.0 */
/* The supervisor's shared state: syslet-fuzz.c and fz-super.c. */
#ifndef SYSLET_FUZZ_SUPER_H
#define SYSLET_FUZZ_SUPER_H
#include "fuzz.h"

void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* coverage and totals */
void gcov_add(const char *key, uint64_t n);
void merge_slot(struct slot *s);
void print_coverage(void);
extern uint64_t tot_execs, tot_atoms, tot_checks, tot_iters, tot_looped, tot_killed;
extern int nfailures, nprinted;

/* the kernel log */
#define RECENT 128
struct recent {
	uint64_t iter;
	pid_t pid;
	double start, end;
};
extern struct recent recent[RECENT];
extern int nrecent;
extern int kmsg_fd;
extern char splat_first[256];
extern int splat_lines, splat_dups;
extern double splat_until;
void recent_add(uint64_t iter, pid_t pid, double start, double end);
int kmsg_poll(void);
void replay_cmd(char *buf, size_t len, uint64_t iter);	/* syslet-fuzz.c */

/* sysctls */
#define NSYSCTL 4
extern long sysctl_saved[NSYSCTL], sysctl_now[NSYSCTL], sysctl_fixed[NSYSCTL];
extern int sysctl_fix;
void sysctl_setup(void);
void sysctl_flip(double now);
void sysctl_restore(void);

/* the journal and the logs */
extern int journal_fd;
void journal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void print_log(struct slot *s);

/* runs and replays (syslet-fuzz.c, fz-replay.c) */
extern volatile sig_atomic_t stopping;
extern char last_class[64];
void run_many(uint64_t first, uint64_t count, double deadline);
int replay_once(uint64_t iter);
void minimize(uint64_t iter);

#endif
