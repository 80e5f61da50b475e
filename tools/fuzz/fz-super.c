// SPDX-License-Identifier: GPL-2.0
/*
 * The supervisor's services: output (TAP-safe), the coverage table and its
 * report, the kernel log read from /dev/kmsg, and the syslet sysctls it
 * flips under load (and restores).
 */
#include "fuzz.h"
#include "fz-super.h"
#include <ctype.h>

/* ---- output ---------------------------------------------------------------------- */

void out(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("%s%s\n", O.tap ? "# " : "", buf);
	fflush(stdout);
}

/* ---- the supervisor's coverage table ------------------------------------------------ */

#define GCOV 16384
struct gent {
	char key[FZ_COV_KEY];
	uint64_t count;
};
static struct gent gcov[GCOV];
static int ngcov;

void gcov_add(const char *key, uint64_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;
	unsigned i, k;

	for (p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	for (i = h % GCOV, k = 0; k < GCOV; k++, i = (i + 1) % GCOV) {
		if (!gcov[i].key[0]) {
			snprintf(gcov[i].key, FZ_COV_KEY, "%s", key);
			gcov[i].count = n;
			ngcov++;
			return;
		}
		if (!strcmp(gcov[i].key, key)) {
			gcov[i].count += n;
			return;
		}
	}
}

uint64_t tot_execs, tot_atoms, tot_checks, tot_iters, tot_looped, tot_killed;
int nfailures, nprinted;

void merge_slot(struct slot *s)
{
	for (int i = 0; i < FZ_COV_SLOT; i++) {
		struct cov_ent *e = &s->cov[i];

		if (!e->hash || !e->count)
			continue;
		e->key[FZ_COV_KEY - 1] = 0;
		if (!e->key[0] || !isprint((unsigned char)e->key[0]))
			continue;	/* killed halfway through writing it */
		gcov_add(e->key, e->count);
	}
	tot_execs += s->execs;
	tot_atoms += s->atoms;
	tot_checks += s->checks;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

void print_coverage(void)
{
	static struct gent sorted[GCOV];
	char prev[32] = "";
	int n = 0, i;

	for (i = 0; i < GCOV; i++)
		if (gcov[i].key[0])
			sorted[n++] = gcov[i];
	qsort(sorted, n, sizeof(sorted[0]), cmp_key);
	out("coverage: %d distinct points reached (category | point | count)%s", n,
	    O.tap ? "; per category here, every point without --tap" : "");
	for (i = 0; i < n; i++) {
		char cat[32], *colon;

		snprintf(cat, sizeof(cat), "%.31s", sorted[i].key);
		colon = strchr(cat, ':');
		if (colon)
			*colon = 0;
		if (strcmp(cat, prev)) {
			int k = 0;

			for (int j = i; j < n && !strncmp(sorted[j].key, cat, strlen(cat)) &&
			     sorted[j].key[strlen(cat)] == ':'; j++)
				k++;
			out("  -- %s (%d) --", cat, k);
			snprintf(prev, sizeof(prev), "%s", cat);
		}
		if (!O.tap)	/* make test's slice: the categories only */
			out("  %-12s | %-52s | %10llu", cat, sorted[i].key + strlen(cat) + (colon ? 1 : 0),
			    (unsigned long long)sorted[i].count);
	}
}

/* ---- the kernel log -------------------------------------------------------------------- */

static const char *const kpatterns[] = {
	"BUG:", "WARNING:", "Oops", "KASAN", "lockdep", "possible recursive locking",
	"INFO: task", "kmemleak", "general protection fault", "Kernel panic",
	"circular locking dependency", "inconsistent lock state", "suspicious RCU usage",
	"UBSAN:", "soft lockup", "detected stalls", "Unable to handle kernel",
	"rust_kernel: panicked", "panicked at", "DEBUG_LOCKS_WARN_ON", "list_add corruption",
	"list_del corruption", "refcount_t:",
};
int kmsg_fd = -1;

struct recent recent[RECENT];
int nrecent;

void recent_add(uint64_t iter, pid_t pid, double start, double end)
{
	recent[nrecent % RECENT] = (struct recent){ iter, pid, start, end };
	nrecent++;
}

char splat_first[256];
int splat_lines, splat_dups;
double splat_until;

static void kmsg_splat(const char *text)
{
	double now = now_ms();
	char cmd[1200];
	int i;

	if (splat_first[0] && !strncmp(splat_first, text, 40)) {
		splat_dups++;
		return;
	}
	nfailures++;
	snprintf(splat_first, sizeof(splat_first), "%.255s", text);
	splat_lines = 60;
	splat_until = now + 1500;
	out("FAIL kernel log: %s", text);
	out("  iterations running now or ended in the last 3 s (suspects; each replays alone):");
	for (i = 0; i < RECENT && i < nrecent; i++) {
		struct recent *r = &recent[(nrecent - 1 - i) % RECENT];

		if (r->end && r->end < now - 3000)
			continue;
		replay_cmd(cmd, sizeof(cmd), r->iter);
		out("    iteration %llu (pid %d)%s: %s", (unsigned long long)r->iter, r->pid,
		    r->end ? "" : " running", cmd);
	}
}

/* Reads every new record; returns 1 if one matched. */
int kmsg_poll(void)
{
	char rec[2048];
	int hit = 0;

	if (kmsg_fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof(rec) - 1);
		char *text;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		text[strcspn(text, "\n")] = 0;
		if (splat_lines > 0 && now_ms() < splat_until) {
			splat_lines--;
			out("  | %s", text);
			{
				char *p = strstr(text, "PID: ");

				if (p) {
					pid_t pid = atoi(p + 5);

					for (int i = 0; i < RECENT && i < nrecent; i++)
						if (recent[i].pid == pid)
							out("  (the splat names pid %d: iteration %llu)", pid,
							    (unsigned long long)recent[i].iter);
				}
			}
		}
		for (size_t i = 0; i < sizeof(kpatterns) / sizeof(kpatterns[0]); i++)
			if (strstr(text, kpatterns[i])) {
				kmsg_splat(text);
				hit = 1;
				break;
			}
	}
	return hit;
}

/* ---- sysctls ---------------------------------------------------------------------------- */

static const char *const sysctl_names[] = { "syslet_aio", "syslet_handoff", "syslet_max_threads",
					    "syslet_idle_msecs" };
long sysctl_saved[NSYSCTL] = { -1, -1, -1, -1 }, sysctl_now[NSYSCTL], sysctl_fixed[NSYSCTL];
int sysctl_fix;	/* --sysctl given: set once, never flip */

static long sysctl_get(int i)
{
	char path[128], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", sysctl_names[i]);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return atol(buf);
}

static int sysctl_set(int i, long v)
{
	char path[128], buf[32];
	int fd, n, ok;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", sysctl_names[i]);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld\n", v);
	ok = write(fd, buf, n) == n;
	close(fd);
	if (ok)
		sysctl_now[i] = v;
	return ok ? 0 : -1;
}

void sysctl_restore(void)
{
	for (int i = 0; i < NSYSCTL; i++)
		if (sysctl_saved[i] >= 0)
			sysctl_set(i, sysctl_saved[i]);
}

static struct rng sysctl_rng;
static double sysctl_next;

void sysctl_flip(double now)
{
	static const long maxt[] = { 1, 2, 4, 64, 64, 4096 }, idle[] = { 10, 100, 5000, 5000 };
	int i;

	if (sysctl_fix || sysctl_saved[0] < 0 || disabled_name("sysctl-flip") || now < sysctl_next)
		return;
	sysctl_next = now + 200 + rnd(&sysctl_rng, 1300);
	i = rnd(&sysctl_rng, 10);
	if (i < 6)
		sysctl_set(0, !sysctl_now[0]);
	else if (i < 8)
		sysctl_set(1, !sysctl_now[1]);
	else if (i < 9)
		sysctl_set(2, maxt[rnd(&sysctl_rng, 6)]);
	else
		sysctl_set(3, idle[rnd(&sysctl_rng, 4)]);
	gcov_add(i < 6 ? (sysctl_now[0] ? "sysctl:syslet_aio=1" : "sysctl:syslet_aio=0") :
		 i < 8 ? (sysctl_now[1] ? "sysctl:syslet_handoff=1" : "sysctl:syslet_handoff=0") :
		 i < 9 ? "sysctl:syslet_max_threads-changed" : "sysctl:syslet_idle_msecs-changed", 1);
}

void sysctl_setup(void)
{
	for (int i = 0; i < NSYSCTL; i++)
		sysctl_now[i] = sysctl_saved[i] = geteuid() == 0 ? sysctl_get(i) : -1;
	if (sysctl_fix)
		for (int i = 0; i < NSYSCTL; i++)
			if (sysctl_fixed[i] >= 0 && sysctl_saved[i] >= 0)
				sysctl_set(i, sysctl_fixed[i]);
	sysctl_rng = rng_at(O.seed, 0x5c7);
}


/* ---- the journal (make fuzz reads it after a panic) and iteration logs ---- */

int journal_fd = -1;

void journal(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	if (journal_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(journal_fd, buf, n) != n)
		journal_fd = -1;
}

void print_log(struct slot *s)
{
	int n = s->nlines;

	if (n <= FZ_LOG_LINES) {
		for (int i = 0; i < n; i++)
			out("    %s", s->log[i]);
		return;
	}
	for (int i = 0; i < 48; i++)
		out("    %s", s->log[i]);
	out("    ... (%d lines left out) ...", n - FZ_LOG_LINES);
	for (int i = 0; i < FZ_LOG_LINES - 48; i++)
		out("    %s", s->log[48 + (n - 48 + i) % (FZ_LOG_LINES - 48)]);
}

