// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/syslet/: how many objects of the engine are alive in
 * the whole system, so tests can check that teardown leaves none behind.
 * The counters are updated atomically by Rust (syslet/shared.rs, syslet/worker.rs).
 *
 *   live_processes  per-process states (one per thread group that used
 *                   async_exec/async_wait, freed with its signal_struct)
 *   live_workers    async threads' Worker objects
 *   live_jobs       chains handed to async threads and not yet finished
 *   live_spares     spare threads of the cachemiss handoff
 */
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/syslet.h>

u64 syslet_live_processes;
u64 syslet_live_workers;
u64 syslet_live_jobs;
u64 syslet_live_spares;

static int __init syslet_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("syslet", NULL);

	debugfs_create_u64("live_processes", 0444, dir, &syslet_live_processes);
	debugfs_create_u64("live_workers", 0444, dir, &syslet_live_workers);
	debugfs_create_u64("live_jobs", 0444, dir, &syslet_live_jobs);
	debugfs_create_u64("live_spares", 0444, dir, &syslet_live_spares);
	return 0;
}
late_initcall(syslet_debugfs_init);
