// SPDX-License-Identifier: GPL-2.0
/*
 * syslet-fuzz: a deterministic fuzzer for the project's whole ABI
 * (async_exec, async_wait, umem_add, threadlets, the private fd space,
 * fs/aio.c on the engine). Documentation/testing.md, "make fuzz".
 *
 *   syslet-fuzz [--seed N] [--duration S] [--workers N] [--no-NAME]...
 *   syslet-fuzz --replay SEED:ITER [--only 3,7,9] [--minimize]
 *   syslet-fuzz --list
 *
 * The supervisor (this file) keeps --workers iteration processes running
 * (fz-iter.c), each bounded by alarm() and by a watchdog here; sends them
 * the chaos of their plan (SIGSTOP/SIGCONT, handled signals, kill -9)
 * drawn from their own seed; flips the syslet sysctls under load; reads
 * the kernel log from /dev/kmsg; classifies every end; prints each
 * failure with its seed, its operations and a --replay command line; and
 * at the end the executions per second and the ABI coverage reached.
 * Exit status: 0, or 1 on any failure.
 */
#include "fuzz.h"
#include <ctype.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/stat.h>

struct opts O = {
	.duration = 60,
	.workers = 4,
	.ops = 24,
	.hang_secs = 20,
	.scratch = "/tmp",
};
struct slot *cur_slot;
static struct slot *slots;
volatile sig_atomic_t stopping;
static double t_start;

#include "fz-super.h"

/* ---- iterations ---------------------------------------------------------------------------- */

enum { CH_STOP, CH_CONT, CH_USR1, CH_USR2, CH_KILL };
struct chaos {
	double at;
	int what;
};

struct run {
	pid_t pid;
	uint64_t iter;
	int slot;
	double start;
	struct chaos ev[8];
	int nev;
	int killed_by_chaos, killed_by_watchdog, end_kill;
	double kill_at;
};
static struct run runs[FZ_MAX_SLOTS];
static int slot_abandoned[FZ_MAX_SLOTS];

static void chaos_plan(struct run *ru)
{
	struct rng r = rng_at(seed_of(O.seed, ru->iter), 0xc4a05);
	int n = rnd(&r, 4);

	ru->nev = 0;
	for (int i = 0; i < n && ru->nev < 6; i++) {
		double at = 20 + rnd(&r, 2500);
		int k = rnd(&r, 12);

		if (k < 4 && !disabled_name("chaos-stop")) {
			ru->ev[ru->nev++] = (struct chaos){ at, CH_STOP };
			ru->ev[ru->nev++] = (struct chaos){ at + 10 + rnd(&r, 300), CH_CONT };
		} else if (k < 10 && !disabled_name("chaos-signal")) {
			ru->ev[ru->nev++] = (struct chaos){ at, k < 7 ? CH_USR1 : CH_USR2 };
		} else if (k == 11 && !disabled_name("chaos-kill")) {
			ru->ev[ru->nev++] = (struct chaos){ at, CH_KILL };
		}
	}
}

static char disabled_flags[1024];
static char sysctl_flag[128];

void replay_cmd(char *buf, size_t len, uint64_t iter)
{
	snprintf(buf, len, "syslet-fuzz --replay %llu:%llu --ops %d --hang-secs %d%.900s%s%.120s",
		 (unsigned long long)O.seed, (unsigned long long)iter, O.ops, O.hang_secs,
		 disabled_flags, sysctl_flag[0] ? " " : "", sysctl_flag);
}

static void launch(int si, uint64_t iter)
{
	struct slot *s = &slots[si];
	struct run *ru = &runs[si];
	pid_t pid;

	memset(s, 0, offsetof(struct slot, cov));
	memset(s->cov, 0, sizeof(s->cov));
	s->busy = 1;
	s->cur_op = -1;
	s->log_fd = -1;
	ru->iter = iter;
	ru->slot = si;
	ru->killed_by_chaos = ru->killed_by_watchdog = ru->end_kill = 0;
	chaos_plan(ru);
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		s->busy = 0;
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (O.replay || O.verbose)
			s->log_fd = fcntl(1, F_DUPFD, 1000);
		if (kmsg_fd >= 0)
			close(kmsg_fd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (!O.replay)
				dup2(null, 2);
			close(null);
		}
		for (int fd = 3; fd < 1000; fd++)	/* nothing of the supervisor's */
			if (fd != s->log_fd)
				close(fd);
		cur_slot = s;
		run_iteration(s, O.seed, iter);
		_exit(FZ_EXIT_SETUP);
	}
	ru->pid = pid;
	ru->start = now_ms();
	recent_add(iter, pid, ru->start, 0);
	tot_iters++;
}

/* The class of the last ended iteration, for --minimize. */
char last_class[64];

/* An iteration ended with `status`: classify, report, merge. */
static void ended(struct run *ru, int status)
{
	struct slot *s = &slots[ru->slot];
	char why[FZ_FAIL_LEN + 128] = "", cmd[1200];
	int failed = 0;

	if (WIFEXITED(status)) {
		int e = WEXITSTATUS(status);

		if (e == FZ_EXIT_OK && s->cur_op != -2 && !s->nfail) {
			failed = 1;
			snprintf(why, sizeof(why), "exited 0 in the middle of op %d (a refused exit ran?)",
				 s->cur_op);
			snprintf(last_class, sizeof(last_class), "early-exit");
		} else if (e == FZ_EXIT_RAW_THREAD || e == FZ_EXIT_SPARE_THREAD) {
			failed = 1;
			snprintf(why, sizeof(why), "the process ended with the exit code of one of its "
				 "threads (%d: %s) in the middle of op %d, while its main flow still ran",
				 e, e == FZ_EXIT_RAW_THREAD ? "a raw threadlet thread's SYS_exit" :
				 "a spare's SYS_exit after threadlet_on returned 0", s->cur_op);
			snprintf(last_class, sizeof(last_class), "thread-exit-ended-process");
		} else if (e == FZ_EXIT_LOOPED && !s->nfail) {
			tot_looped++;
		} else if (e != FZ_EXIT_OK || s->nfail) {
			failed = 1;
			snprintf(why, sizeof(why), "%s: %s",
				 e == FZ_EXIT_HANG ? "hang" : e == FZ_EXIT_SETUP ? "setup failed" :
				 "invariant violated", s->fail[0] ? s->fail : "(no text)");
			snprintf(last_class, sizeof(last_class), "exit-%d", e);
		}
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (sig == SIGKILL && (ru->killed_by_chaos || ru->end_kill) && !s->nfail) {
			tot_killed++;
		} else if (sig == SIGKILL && ru->killed_by_watchdog && s->may_hang && !s->nfail) {
			tot_looped++;
		} else if (sig == SIGKILL && ru->killed_by_watchdog) {
			failed = 1;
			snprintf(why, sizeof(why), "hung: killed by the supervisor's watchdog after %.0f s, op %d running%s%s",
				 (ru->kill_at - ru->start) / 1000, s->cur_op, s->nfail ? "; " : "", s->fail);
			snprintf(last_class, sizeof(last_class), "watchdog");
		} else if (sig == SIGKILL && ru->killed_by_chaos) {
			failed = 1;
			snprintf(why, sizeof(why), "invariant violated before the planned kill -9: %s", s->fail);
			snprintf(last_class, sizeof(last_class), "exit-40");
		} else {
			failed = 1;
			snprintf(why, sizeof(why), "died of signal %d (%s) in op %d%s%s", sig, strsignal(sig),
				 s->cur_op, s->fail[0] ? "; " : "", s->fail);
			snprintf(last_class, sizeof(last_class), "signal-%d", sig);
		}
	}
	if (!failed)
		snprintf(last_class, sizeof(last_class), "ok");
	merge_slot(s);
	journal("end %llu %d %#x\n", (unsigned long long)ru->iter, ru->pid, status);
	for (int i = 0; i < RECENT && i < nrecent; i++)
		if (recent[i].pid == ru->pid && recent[i].iter == ru->iter)
			recent[i].end = now_ms();
	if (failed) {
		nfailures++;
		replay_cmd(cmd, sizeof(cmd), ru->iter);
		out("FAIL seed %llu iteration %llu (pid %d): %s", (unsigned long long)O.seed,
		    (unsigned long long)ru->iter, ru->pid, why);
		if (nprinted++ < 40 || O.replay) {
			out("  operations of this iteration (the reproducer):");
			print_log(s);
			if (sysctl_saved[0] >= 0)
				out("  sysctls at the end: syslet_aio=%ld syslet_handoff=%ld syslet_max_threads=%ld syslet_idle_msecs=%ld",
				    sysctl_now[0], sysctl_now[1], sysctl_now[2], sysctl_now[3]);
		}
		out("  replay: %s", cmd);
	} else if (O.replay) {
		out("iteration %llu passed; its operations:", (unsigned long long)ru->iter);
		print_log(s);
	}
	s->busy = 0;
	ru->pid = 0;
}

/* One step of the supervisor: chaos, watchdog, reaping. */
static void tend(double now)
{
	for (int i = 0; i < O.workers; i++) {
		struct run *ru = &runs[i];
		int status;
		pid_t w;

		if (!ru->pid)
			continue;
		for (int k = 0; k < ru->nev; k++) {
			static const int sigs[] = { SIGSTOP, SIGCONT, SIGUSR1, SIGUSR2, SIGKILL };
			static const char *const names[] = { "chaos:SIGSTOP", "chaos:SIGCONT", "chaos:SIGUSR1",
							     "chaos:SIGUSR2", "chaos:kill-9" };

			if (!ru->ev[k].at || now - ru->start < ru->ev[k].at)
				continue;
			if (!ru->killed_by_watchdog && kill(ru->pid, sigs[ru->ev[k].what]) == 0)
				gcov_add(names[ru->ev[k].what], 1);
			if (ru->ev[k].what == CH_KILL)
				ru->killed_by_chaos = 1;
			ru->ev[k].at = 0;
		}
		w = waitpid(ru->pid, &status, WNOHANG);
		if (w == ru->pid) {
			ended(ru, status);
			continue;
		}
		if (!ru->killed_by_watchdog && !ru->end_kill && now - ru->start > O.hang_secs * 2500.0) {
			kill(ru->pid, SIGCONT);
			kill(ru->pid, SIGKILL);
			ru->killed_by_watchdog = 1;
			ru->kill_at = now;
		} else if ((ru->killed_by_watchdog || ru->end_kill) && now - ru->kill_at > 30000) {
			char cmd[1200];

			nfailures++;
			replay_cmd(cmd, sizeof(cmd), ru->iter);
			out("FAIL seed %llu iteration %llu (pid %d): survives kill -9 for 30 s (unkillable; op %d)",
			    (unsigned long long)O.seed, (unsigned long long)ru->iter, ru->pid,
			    slots[i].cur_op);
			print_log(&slots[i]);
			out("  replay: %s", cmd);
			slot_abandoned[i] = 1;
			ru->pid = 0;
		}
	}
}

static int free_slot(void)
{
	for (int i = 0; i < O.workers; i++)
		if (!runs[i].pid && !slot_abandoned[i])
			return i;
	return -1;
}

static int running(void)
{
	int n = 0;

	for (int i = 0; i < O.workers; i++)
		n += !!runs[i].pid;
	return n;
}

/* Runs iterations [first, first + count) (count 0: until the duration
 * ends) and returns when all are done. */
void run_many(uint64_t first, uint64_t count, double deadline)
{
	uint64_t next = first;
	double last_progress = now_ms(), now;

	for (;;) {
		int si;

		now = now_ms();
		if (!stopping && now < deadline && (!count || next < first + count) &&
		    (si = free_slot()) >= 0) {
			journal("start %llu\n", (unsigned long long)next);
			launch(si, next);
			journal("pid %llu %d\n", (unsigned long long)next, runs[si].pid);
			next++;
			continue;
		}
		tend(now);
		kmsg_poll();
		sysctl_flip(now);
		if (now - last_progress > 10000 && !O.replay) {
			double el = (now - t_start) / 1000;

			out("progress: %.0f s, %llu iterations, %llu executions (%.0f/s), %d failures",
			    el, (unsigned long long)tot_iters, (unsigned long long)tot_execs,
			    tot_execs / (el > 0 ? el : 1), nfailures);
			last_progress = now;
		}
		if ((stopping || now >= deadline || (count && next >= first + count)) && !running())
			break;
		if ((stopping || now >= deadline) && now > deadline + O.hang_secs * 1000.0)
			for (int i = 0; i < O.workers; i++)
				if (runs[i].pid && !runs[i].killed_by_watchdog && !runs[i].end_kill) {
					runs[i].end_kill = 1;	/* the end of the run, not a failure */
					kill(runs[i].pid, SIGCONT);
					kill(runs[i].pid, SIGKILL);
					runs[i].kill_at = now;
				}
		sleep_ms(3);
	}
}

/* ---- main ------------------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: syslet-fuzz [--seed N] [--duration S] [--workers N] [--ops N] [--hang-secs N]\n"
		"                   [--no-NAME]... [--tap] [--journal FILE] [--scratch DIR] [--slowdir DIR]\n"
		"                   [--max-iters N] [--sysctl aio=A,handoff=H,max_threads=M,idle=I]\n"
		"                   [--no-pidns] [--no-kmsg] [-v]\n"
		"       syslet-fuzz --replay SEED:ITER [--only I,J,...] [--minimize] [same options]\n"
		"       syslet-fuzz --plan SEED:ITER  (the ops and chaos of an iteration, not run)\n"
		"       syslet-fuzz --list     (the NAMEs --no-NAME takes)\n");
	exit(2);
}

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static pid_t ns_init;
static long tainted0 = -1;

static long read_tainted(void)
{
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Iterations live in a PID namespace of their own when we are root: a
 * stray kill(-1, ...) from anything they run cannot reach the supervisor. */
static void setup_pidns(void)
{
	pid_t pid;

	if (O.no_pidns || geteuid() != 0 || unshare(CLONE_NEWPID))
		return;
	pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_stop };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigaction(SIGCHLD, &sa, NULL);
		for (;;) {	/* pid 1 of the namespace: reaps orphans */
			while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
				;
			sleep(1);
		}
	}
	if (pid > 0)
		ns_init = pid;
}

static void parse_sysctl(const char *arg)
{
	static const char *const keys[] = { "aio=", "handoff=", "max_threads=", "idle=" };
	char *dup = strdup(arg), *tok, *save;

	for (int i = 0; i < NSYSCTL; i++)
		sysctl_fixed[i] = -1;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		for (int i = 0; i < NSYSCTL; i++)
			if (!strncmp(tok, keys[i], strlen(keys[i])))
				sysctl_fixed[i] = atol(tok + strlen(keys[i]));
	sysctl_fix = 1;
	snprintf(sysctl_flag, sizeof(sysctl_flag), "--sysctl %s", arg);
	free(dup);
}

int main(int argc, char **argv)
{
	static char exe[4096], slowsub[4096];
	struct sigaction sa = { .sa_handler = on_stop };
	int seeded = 0, minimize_flag = 0, i;
	double el;

	if (argc >= 2 && !strcmp(argv[1], "--exec-probe"))
		return exec_probe_main(argc, argv);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

#define NEEDV() do { if (!v) usage(); i++; } while (0)
		if (!strcmp(a, "--seed")) {
			NEEDV();
			O.seed = strtoull(v, NULL, 0);
			seeded = 1;
		} else if (!strcmp(a, "--duration")) {
			NEEDV();
			O.duration = atoi(v);
		} else if (!strcmp(a, "--workers")) {
			NEEDV();
			O.workers = atoi(v);
		} else if (!strcmp(a, "--ops")) {
			NEEDV();
			O.ops = atoi(v);
		} else if (!strcmp(a, "--hang-secs")) {
			NEEDV();
			O.hang_secs = atoi(v);
		} else if (!strcmp(a, "--replay")) {
			NEEDV();
			if (sscanf(v, "%llu:%llu", (unsigned long long *)&O.seed,
				   (unsigned long long *)&O.replay_iter) != 2)
				usage();
			O.replay = seeded = 1;
		} else if (!strcmp(a, "--only")) {
			char *dup, *tok, *save;

			NEEDV();
			dup = strdup(v);
			for (tok = strtok_r(dup, ",", &save); tok && O.nonly < FZ_MAX_ONLY;
			     tok = strtok_r(NULL, ",", &save))
				O.only[O.nonly++] = atoi(tok);
			free(dup);
		} else if (!strcmp(a, "--minimize")) {
			minimize_flag = 1;
		} else if (!strcmp(a, "--tap")) {
			O.tap = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			O.verbose = 1;
		} else if (!strcmp(a, "--journal")) {
			NEEDV();
			O.journal = v;
		} else if (!strcmp(a, "--scratch")) {
			NEEDV();
			O.scratch = v;
		} else if (!strcmp(a, "--slowdir")) {
			NEEDV();
			O.slowdir = v;
		} else if (!strcmp(a, "--max-iters")) {
			NEEDV();
			O.max_iters = atoi(v);
		} else if (!strcmp(a, "--sysctl")) {
			NEEDV();
			parse_sysctl(v);
		} else if (!strcmp(a, "--no-pidns")) {
			O.no_pidns = 1;
		} else if (!strcmp(a, "--no-kmsg")) {
			O.no_kmsg = 1;
		} else if (!strcmp(a, "--plan")) {
			/* What an iteration runs, without running it. */
			unsigned long long sd, it;
			struct run ru = { 0 };

			NEEDV();
			if (sscanf(v, "%llu:%llu", &sd, &it) != 2)
				usage();
			O.seed = sd;
			ru.iter = it;
			chaos_plan(&ru);
			printf("iteration %llu:%llu, %d ops:\n", sd, it, iter_nops(sd, it));
			for (int k = 0; k < iter_nops(sd, it); k++)
				printf("  op %d: %s\n", k, plan_op(sd, it, k));
			for (int k = 0; k < ru.nev; k++)
				printf("  at %.0f ms: %s\n", ru.ev[k].at, (const char *[]){ "SIGSTOP", "SIGCONT",
				       "SIGUSR1", "SIGUSR2", "kill -9" }[ru.ev[k].what]);
			return 0;
		} else if (!strcmp(a, "--list")) {
			for (int k = 0; k < name_count(); k++)
				printf("%s\n", name_at(k));
			return 0;
		} else if (!strncmp(a, "--no-", 5) && name_index(a + 5) >= 0) {
			O.disabled |= 1ULL << name_index(a + 5);
			snprintf(disabled_flags + strlen(disabled_flags),
				 sizeof(disabled_flags) - strlen(disabled_flags), " %s", a);
		} else {
			fprintf(stderr, "syslet-fuzz: unknown option %s\n", a);
			usage();
		}
	}
	if (O.workers < 1 || O.workers > FZ_MAX_SLOTS || O.ops < 1 || O.hang_secs < 4)
		usage();
	if (!seeded)
		O.seed = (uint64_t)time(NULL) * 1000003ULL ^ (uint64_t)getpid();
	if (O.replay)
		O.workers = 1;
	i = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (i > 0) {
		exe[i] = 0;
		O.self_exe = exe;
	} else {
		O.self_exe = argv[0];
	}
	if (O.slowdir) {
		snprintf(slowsub, sizeof(slowsub), "%s/syslet-fuzz.%d", O.slowdir, getpid());
		O.slowdir = mkdir(slowsub, 0700) ? NULL : slowsub;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (O.tap)
		printf("TAP version 13\n1..1\n");
	out("syslet-fuzz: seed %llu (every failure prints a --replay SEED:ITER command line)",
	    (unsigned long long)O.seed);
	out("syslet-fuzz: %d s, %d workers, up to %d ops per iteration, hang limit %d s%s",
	    O.duration, O.workers, O.ops, O.hang_secs, disabled_flags);

	slots = mmap(NULL, FZ_MAX_SLOTS * sizeof(struct slot), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	{
		/* Blocked here, so an iteration starts with them blocked and a
		 * chaos signal cannot kill it before its handlers are in. */
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	if (!O.no_kmsg) {
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (kmsg_fd >= 0)
			lseek(kmsg_fd, 0, SEEK_END);
		else
			out("syslet-fuzz: cannot read /dev/kmsg (%s): kernel splats go unseen here",
			    strerror(errno));
	}
	if (O.journal) {
		journal_fd = open(O.journal, O.replay ? O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC :
				  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		journal("seed %llu\n", (unsigned long long)O.seed);
	}
	{
		int k = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

		if (k >= 0) {	/* so the console log says which seed ran */
			dprintf(k, "syslet-fuzz: seed %llu start\n", (unsigned long long)O.seed);
			close(k);
		}
	}
	sysctl_setup();
	tainted0 = read_tainted();
	if (tainted0 > 0)
		out("syslet-fuzz: the kernel is tainted already (%ld): a WARNING before this run?", tainted0);
	setup_pidns();
	t_start = now_ms();

	if (O.replay && minimize_flag)
		minimize(O.replay_iter);
	else if (O.replay)
		replay_once(O.replay_iter);
	else
		run_many(0, O.max_iters, t_start + O.duration * 1000.0);

	/* Splats may come a little after the last iteration ended. */
	sleep_ms(500);
	kmsg_poll();
	if (tainted0 >= 0 && read_tainted() != tainted0) {
		nfailures++;
		out("FAIL the kernel became tainted during the run (%ld -> %ld): a WARNING or worse "
		    "the log reading missed?", tainted0, read_tainted());
	}
	sysctl_restore();
	if (ns_init > 0) {
		kill(ns_init, SIGKILL);
		waitpid(ns_init, NULL, 0);
	}
	if (O.slowdir)
		rmdir(O.slowdir);
	el = (now_ms() - t_start) / 1000;
	if (el <= 0)
		el = 1;
	out("syslet-fuzz: seed %llu, %.0f s, %llu iterations (%.2f/s), %llu executions (%.0f/s), "
	    "%llu atoms run (%.0f/s), %llu invariant checks",
	    (unsigned long long)O.seed, el, (unsigned long long)tot_iters, tot_iters / el,
	    (unsigned long long)tot_execs, tot_execs / el, (unsigned long long)tot_atoms,
	    tot_atoms / el, (unsigned long long)tot_checks);
	out("syslet-fuzz: %llu iterations ended by a planned kill -9, %llu ran out of time in an op "
	    "that may legitimately not end; %d failure%s%s",
	    (unsigned long long)tot_killed, (unsigned long long)tot_looped, nfailures,
	    nfailures == 1 ? "" : "s", splat_dups ? " (repeated kernel-log lines not counted)" : "");
	print_coverage();
	if (O.tap)
		printf("%sok 1 syslet_fuzz_seed_%llu\n", nfailures ? "not " : "", (unsigned long long)O.seed);
	/* With --tap the TAP line carries the verdict (one result in make test). */
	return nfailures && !O.tap ? 1 : 0;
}
