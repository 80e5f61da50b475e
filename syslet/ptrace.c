// SPDX-License-Identifier: GPL-2.0
/*
 * syslets: ptrace and a moving TID (kernel/ptrace.c, patches/0025).
 *
 * A handoff moves a thread's user context, and its TID, from the task
 * that blocked to a spare (handoff.c). A tracer must get the thread the
 * TID names when it attaches, not the task the context is leaving: the
 * attach waits while a context moves to or from the task it found, and
 * looks the TID up again. The marks are jobctl bits under siglock
 * (include/linux/syslet.h): SYSLET_JOBCTL_GIVEN on the giver,
 * SYSLET_JOBCTL_TAKING on the spare, SYSLET_JOBCTL_TRACER on the TID a
 * tracer waits for.
 */
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/wait_bit.h>
#include <linux/syslet.h>

/* A context moves from (GIVEN) or to (TAKING) the task. */
#define SYSLET_JOBCTL_MOVING	(SYSLET_JOBCTL_GIVEN | SYSLET_JOBCTL_TAKING)

/*
 * ptrace_attach() (patches/0025), under tasklist_lock (write), for a
 * tracer that found @task as @pid: @task becomes traced (@flags) unless
 * a handoff moves @pid away from it, or a context to or from it (a move
 * would leave the tracer with the wrong task under @pid). Under siglock,
 * against syslet_context_save(): an attach lands wholly before a move
 * (the save then refuses) or after it. A refused tracer marks the TID
 * (SYSLET_JOBCTL_TRACER, which moves with it): the save of its next
 * holder refuses once, so a thread that hands off over and over cannot
 * keep the tracer out.
 */
bool syslet_ptrace_claim(struct task_struct *task, pid_t pid, unsigned int flags)
{
	bool claimed, named, moving;

	lockdep_assert_held_write(&tasklist_lock);
	spin_lock(&task->sighand->siglock);
	named = task_pid_vnr(task) == pid;
	moving = task->jobctl & SYSLET_JOBCTL_MOVING;
	claimed = named && !moving;
	if (claimed)
		task->ptrace = flags;
	else if (named)
		/* The thread the TID goes to lets the tracer in first. */
		task->jobctl |= SYSLET_JOBCTL_TRACER;
	spin_unlock(&task->sighand->siglock);
	return claimed;
}

/*
 * After syslet_ptrace_claim() refused @task: waits until no context moves
 * to or from it (0; then the tracer looks its TID up again), or a signal
 * comes (-ERESTARTNOINTR: its handler runs and the attach starts again,
 * as for the tracer's wait on cred_guard_mutex).
 */
int syslet_ptrace_wait(struct task_struct *task)
{
	if (wait_var_event_interruptible(&task->jobctl,
					 !(READ_ONCE(task->jobctl) & SYSLET_JOBCTL_MOVING)) ||
	    signal_pending(current))
		return -ERESTARTNOINTR;
	/* A TID that keeps moving: the tracer's retries yield the CPU. */
	cond_resched();
	return 0;
}
