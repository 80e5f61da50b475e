// SPDX-License-Identifier: GPL-2.0
/*
 * --replay SEED:ITER: one iteration alone, with its chaos plan; with
 * --minimize, ops are left out one at a time while the failure stays of
 * the same class (an invariant, a hang, a signal, a kernel-log line).
 */
#include "fuzz.h"
#include "fz-super.h"

static int splat_seen(int reset)
{
	static int seen_before;
	int now = nfailures;

	if (reset)
		seen_before = now;
	return now != seen_before;
}

/* Runs one iteration alone; returns 1 if it failed, with its class. */
int replay_once(uint64_t iter)
{
	int before = nfailures, splat;

	splat_first[0] = 0;
	run_many(iter, 1, now_ms() + 1e9);
	sleep_ms(300);
	splat_seen(1);
	kmsg_poll();
	splat = splat_seen(0);
	if (splat)
		snprintf(last_class, sizeof(last_class), "kernel-log");
	return nfailures != before;
}

void minimize(uint64_t iter)
{
	int n = O.nonly, keep[FZ_MAX_ONLY], k, i;
	char cls[64], list[512];

	if (!n) {
		n = iter_nops(O.seed, iter);
		if (n > FZ_MAX_ONLY)
			n = FZ_MAX_ONLY;
		for (i = 0; i < n; i++)
			keep[i] = i;
	} else {
		memcpy(keep, O.only, n * sizeof(int));
	}
	if (!replay_once(iter)) {
		out("minimize: iteration %llu does not fail; nothing to minimize", (unsigned long long)iter);
		return;
	}
	snprintf(cls, sizeof(cls), "%s", last_class);
	out("minimize: failure class %s; dropping ops one at a time", cls);
	for (k = 0; k < n && !stopping;) {
		O.nonly = 0;
		for (i = 0; i < n; i++)
			if (i != k)
				O.only[O.nonly++] = keep[i];
		if (!O.nonly)
			break;
		out("minimize: without op %d ...", keep[k]);
		if (replay_once(iter) && !strcmp(last_class, cls)) {
			memmove(keep + k, keep + k + 1, (n - k - 1) * sizeof(int));
			n--;
		} else {
			k++;
		}
	}
	list[0] = 0;
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d", i ? "," : "", keep[i]);
	{
		char cmd[1200];

		replay_cmd(cmd, sizeof(cmd), iter);
		out("minimal reproducer (%s): %s --only %s", cls, cmd, list);
	}
}

