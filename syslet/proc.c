// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/<pid>/syslet: the per-process counters of the syslet engine,
 * gathered by Rust (syslet/pool.rs), printed here.
 */
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/syslet.h>

int proc_pid_syslet(struct seq_file *m, struct pid_namespace *ns,
		    struct pid *pid, struct task_struct *task)
{
	struct syslet_stats st;

	syslet_rs_stats(task->signal, &st);
	seq_printf(m, "atoms_inline %llu\natoms_async_thread %llu\nchains %llu\n"
		   "chains_async %llu\ncompletions %llu\nthreads_alive %llu\n"
		   "threads_peak %llu\nhandoffs %llu\nspares_alive %llu\n",
		   st.atoms_inline, st.atoms_async_thread, st.chains,
		   st.chains_async, st.completions, st.threads_alive,
		   st.threads_peak, st.handoffs, st.spares_alive);
	return 0;
}
