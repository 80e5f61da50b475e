// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin for `make profile`: counts how often each translation
 * block (TB) runs. Under TCG what a code path costs follows the number of
 * TBs it runs (every conditional branch, call, return and user-access
 * window ends one; an indirect jump or a return is a lookup) more than
 * its instruction count, and a count is exact where a sampling profiler
 * under TCG is not.
 *
 * Counting is inline (a counter add per TB, no callback), so it is exact
 * with one vCPU only (the adds are not atomic): `make profile` boots with
 * -smp 1. At exit the
 * plugin writes one line per TB that ran more than 1000 times:
 *   VADDR COUNT INSNS LAST-INSTRUCTION
 * Options: out=FILE (default tbcount.txt), min=HEXADDR (ignore TBs below).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct tb_count {
	uint64_t vaddr;
	uint64_t count;
	unsigned int insns;
	char last[64];
	struct tb_count *next;
};

#define BUCKETS (1u << 20)
static struct tb_count *buckets[BUCKETS];
static pthread_mutex_t buckets_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *out_path = "tbcount.txt";
static uint64_t min_vaddr;

/* One entry per (address, length): a TB translated again the same way
 * (after a flush) adds to the same counter. */
static struct tb_count *entry(uint64_t vaddr, unsigned int insns, struct qemu_plugin_tb *tb)
{
	uint32_t h = (uint32_t)((vaddr * 0x9e3779b97f4a7c15ull + insns) >> 44) & (BUCKETS - 1);
	struct tb_count *e;
	char *dis;

	for (e = buckets[h]; e; e = e->next)
		if (e->vaddr == vaddr && e->insns == insns)
			return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->vaddr = vaddr;
	e->insns = insns;
	dis = qemu_plugin_insn_disas(qemu_plugin_tb_get_insn(tb, insns - 1));
	snprintf(e->last, sizeof(e->last), "%s", dis ? dis : "?");
	free(dis);
	e->next = buckets[h];
	buckets[h] = e;
	return e;
}

static void tb_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	unsigned int insns = qemu_plugin_tb_n_insns(tb);
	struct tb_count *e;

	if (vaddr < min_vaddr || !insns)
		return;
	pthread_mutex_lock(&buckets_lock);
	e = entry(vaddr, insns, tb);
	pthread_mutex_unlock(&buckets_lock);
	if (e)
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &e->count, 1);
}

static int by_count(const void *a, const void *b)
{
	const struct tb_count *x = *(struct tb_count *const *)a;
	const struct tb_count *y = *(struct tb_count *const *)b;

	return (x->count < y->count) - (x->count > y->count);
}

static void at_exit(qemu_plugin_id_t id, void *unused)
{
	struct tb_count **all, *e;
	size_t n = 0, i;
	FILE *f;

	for (i = 0; i < BUCKETS; i++)
		for (e = buckets[i]; e; e = e->next)
			n++;
	all = malloc((n ? n : 1) * sizeof(*all));
	f = fopen(out_path, "w");
	if (!all || !f) {
		fprintf(stderr, "tbcount: cannot write %s\n", out_path);
		return;
	}
	n = 0;
	for (i = 0; i < BUCKETS; i++)
		for (e = buckets[i]; e; e = e->next)
			all[n++] = e;
	qsort(all, n, sizeof(*all), by_count);
	for (i = 0; i < n && all[i]->count > 1000; i++)
		fprintf(f, "%016" PRIx64 " %10" PRIu64 " %4u %s\n", all[i]->vaddr,
			all[i]->count, all[i]->insns, all[i]->last);
	fclose(f);
	free(all);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			out_path = strdup(argv[i] + 4);
		else if (!strncmp(argv[i], "min=", 4))
			min_vaddr = strtoull(argv[i] + 4, NULL, 16);
		else {
			fprintf(stderr, "tbcount: unknown option %s\n", argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_translated);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
