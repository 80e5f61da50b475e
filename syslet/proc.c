// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/<pid>/syslet: the per-process counters of the syslet engine,
 * gathered by Rust (syslet/process.rs, syslet/shared.rs), printed here.
 */
#include <linux/ptrace.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/syslet.h>

int proc_pid_syslet(struct seq_file *m, struct pid_namespace *ns,
		    struct pid *pid, struct task_struct *task)
{
	struct syslet_stats st;

	/*
	 * What a process does, like /proc/<pid>/io: only for those who may
	 * read it through ptrace (the file is 0400, checked again here).
	 */
	if (!ptrace_may_access(task, PTRACE_MODE_READ_FSCREDS))
		return -EACCES;
	syslet_rs_stats(task->signal, &st);
	seq_printf(m, "atoms_inline %llu\natoms_async_thread %llu\nchains %llu\n"
		   "chains_async %llu\ncompletions %llu\nthreads_alive %llu\n"
		   "threads_peak %llu\nhandoffs %llu\nspares_alive %llu\n",
		   st.atoms_inline, st.atoms_async_thread, st.chains,
		   st.chains_async, st.completions, st.threads_alive,
		   st.threads_peak, st.handoffs, st.spares_alive);
	return 0;
}
