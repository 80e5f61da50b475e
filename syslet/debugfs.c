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
 *
 * and an oracle for the tests of the leadership move (Documentation/
 * handoff.md, "The group leader"):
 *
 *   leader_check    write a pid (of the writer's namespace), then read
 *                   "ok" or the first broken invariant of its thread
 *                   group, checked under tasklist_lock and siglock
 */
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/kstrtox.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/syslet.h>

u64 syslet_live_processes;
u64 syslet_live_workers;
u64 syslet_live_jobs;
u64 syslet_live_spares;

static bool syslet_linked(const struct list_head *e)
{
	return e->next->prev == e && e->prev->next == e;
}

/* A link a leadership move replaced is poisoned, not unhashed. */
static bool syslet_pid_linked(struct task_struct *t, enum pid_type type)
{
	struct hlist_node *n = &t->pid_links[type];

	return n->pprev && n->pprev != LIST_POISON2 && *n->pprev == n;
}

/*
 * The invariants of a thread group that a move of its leadership keeps:
 * the one leader is first on thread_head and named by every thread, it
 * alone holds the TGID/PGID/SID links, its TID is the TGID, and it is on
 * the process list and its parent's children. Caller holds tasklist_lock
 * for reading and @leader's siglock.
 */
static const char *syslet_leader_broken(struct task_struct *leader)
{
	struct signal_struct *sig = leader->signal;
	struct task_struct *t, *first;
	int leaders = 0;

	/*
	 * An exec's de_thread() leaves the old leader first, EXIT_DEAD,
	 * until release_task() unlinks it: skip such an entry.
	 */
	first = list_first_entry(&sig->thread_head, struct task_struct, thread_node);
	if (first != leader && first->exit_state == EXIT_DEAD &&
	    !list_is_last(&first->thread_node, &sig->thread_head))
		first = list_next_entry(first, thread_node);
	if (first != leader)
		return "the leader is not first on thread_head";
	if (task_pid(leader) != task_tgid(leader))
		return "the leader's TID is not the TGID";
	if (pid_task(task_tgid(leader), PIDTYPE_TGID) != leader)
		return "the TGID does not name the leader";
	if (hlist_unhashed(&leader->pid_links[PIDTYPE_PGID]) ||
	    hlist_unhashed(&leader->pid_links[PIDTYPE_SID]))
		return "the leader is not in its process group or session";
	if (!syslet_linked(&leader->tasks))
		return "the leader is not on the process list";
	if (!syslet_linked(&leader->sibling))
		return "the leader is not on its parent's children";
	for_each_thread(leader, t) {
		if (t->group_leader != leader)
			return "a thread names another leader";
		if (t->exit_signal >= 0)
			leaders++;
		if (t != leader &&
		    (syslet_pid_linked(t, PIDTYPE_TGID) ||
		     syslet_pid_linked(t, PIDTYPE_PGID) ||
		     syslet_pid_linked(t, PIDTYPE_SID)))
			return "a thread that does not lead holds a group link";
	}
	if (leaders != 1 || leader->exit_signal < 0)
		return "not exactly one thread has an exit signal";
	return NULL;
}

struct syslet_leader_check {
	char result[64];
	size_t len;
};

static int syslet_leader_check_open(struct inode *inode, struct file *file)
{
	struct syslet_leader_check *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return -ENOMEM;
	file->private_data = c;
	return nonseekable_open(inode, file);
}

static int syslet_leader_check_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t syslet_leader_check_write(struct file *file, const char __user *buf,
					 size_t count, loff_t *ppos)
{
	struct syslet_leader_check *c = file->private_data;
	struct task_struct *p;
	const char *broken;
	pid_t nr;
	int err;

	err = kstrtoint_from_user(buf, count, 10, &nr);
	if (err)
		return err;
	/* find_task_by_vpid() asks for RCU even under tasklist_lock. */
	rcu_read_lock();
	read_lock(&tasklist_lock);
	p = nr > 0 ? find_task_by_vpid(nr) : NULL;
	if (!p || p->exit_state) {
		read_unlock(&tasklist_lock);
		rcu_read_unlock();
		return -ESRCH;
	}
	/* Under tasklist_lock, p's sighand and leader stay. */
	spin_lock_irq(&p->sighand->siglock);
	broken = syslet_leader_broken(p->group_leader);
	spin_unlock_irq(&p->sighand->siglock);
	read_unlock(&tasklist_lock);
	rcu_read_unlock();
	c->len = scnprintf(c->result, sizeof(c->result), "%s\n", broken ?: "ok");
	return count;
}

static ssize_t syslet_leader_check_read(struct file *file, char __user *buf,
					size_t count, loff_t *ppos)
{
	struct syslet_leader_check *c = file->private_data;
	loff_t pos = 0;
	ssize_t n;

	if (!c->len)
		return -ENODATA;
	/* Every read returns the whole answer to the last write. */
	n = simple_read_from_buffer(buf, count, &pos, c->result, c->len);
	return n;
}

static const struct file_operations syslet_leader_check_fops = {
	.owner = THIS_MODULE,
	.open = syslet_leader_check_open,
	.release = syslet_leader_check_release,
	.write = syslet_leader_check_write,
	.read = syslet_leader_check_read,
};

static int __init syslet_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("syslet", NULL);

	debugfs_create_u64("live_processes", 0444, dir, &syslet_live_processes);
	debugfs_create_u64("live_workers", 0444, dir, &syslet_live_workers);
	debugfs_create_u64("live_jobs", 0444, dir, &syslet_live_jobs);
	debugfs_create_u64("live_spares", 0444, dir, &syslet_live_spares);
	debugfs_create_file("leader_check", 0600, dir, NULL, &syslet_leader_check_fops);
	return 0;
}
late_initcall(syslet_debugfs_init);
