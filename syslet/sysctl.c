// SPDX-License-Identifier: GPL-2.0
/*
 * Tunables of the syslet engine, read by the Rust side (syslet/threads.rs, syslet/worker.rs, syslet/spare.rs):
 *
 *   /proc/sys/kernel/syslet_max_threads  async threads per process (1..4096)
 *   /proc/sys/kernel/syslet_idle_msecs   an idle async thread exits after
 *                                        this long (10..3600000 ms)
 *   /proc/sys/kernel/syslet_aio          1: fs/aio.c reads and writes run
 *                                        on async threads; 0: stock path
 *   /proc/sys/kernel/syslet_handoff      1: chains and threadlets run in
 *                                        the caller, which hands its user
 *                                        context over if it blocks; 0:
 *                                        chains run on async threads and
 *                                        threadlets never go asynchronous
 */
#include <linux/init.h>
#include <linux/syslet.h>
#include <linux/sysctl.h>

unsigned int sysctl_syslet_max_threads = 64;
unsigned int sysctl_syslet_idle_msecs = 5000;
unsigned int sysctl_syslet_handoff = 1;
#ifdef CONFIG_SYSLET_AIO
unsigned int sysctl_syslet_aio = 1;
#endif

static unsigned int max_threads_limit = 4096;
static unsigned int idle_msecs_min = 10;
static unsigned int idle_msecs_max = 3600000;

static struct ctl_table syslet_sysctls[] = {
	{
		.procname	= "syslet_max_threads",
		.data		= &sysctl_syslet_max_threads,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= &max_threads_limit,
	},
	{
		.procname	= "syslet_idle_msecs",
		.data		= &sysctl_syslet_idle_msecs,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= &idle_msecs_min,
		.extra2		= &idle_msecs_max,
	},
	{
		.procname	= "syslet_handoff",
		.data		= &sysctl_syslet_handoff,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
#ifdef CONFIG_SYSLET_AIO
	{
		.procname	= "syslet_aio",
		.data		= &sysctl_syslet_aio,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
#endif
};

static int __init syslet_sysctl_init(void)
{
	register_sysctl_init("kernel", syslet_sysctls);
	return 0;
}
late_initcall(syslet_sysctl_init);
