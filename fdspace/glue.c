// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the private fd space (fdspace.rs): the fdup() system call,
 * which pairs fget() with the Rust allocator the way dup() pairs it with
 * alloc_fd(); what Rust cannot write: an RCU wrapper (get_file_rcu()),
 * array_index_nospec(), publishing a space under the table's file_lock;
 * and the /proc/<pid>/fdspace printer.
 */
#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/fdspace.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/nospec.h>
#include <linux/ptrace.h>
#include <linux/seq_file.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/syscalls.h>

long ksys_fdup(unsigned int fd, unsigned int flags)
{
	struct files_struct *files = current->files;
	unsigned long nofile = rlimit(RLIMIT_NOFILE);
	struct file *file;
	int newfd;

	if (flags & ~FDUP_MOVE)
		return -EINVAL;
	/*
	 * A move opens no descriptor: it works at the limit (the two
	 * spaces share it). Until close_fd() below, one over; if another
	 * thread closes fd first, its close is the one that counts.
	 */
	if ((flags & FDUP_MOVE) && nofile < ULONG_MAX)
		nofile++;
	file = fget_raw(fd);
	if (!file)
		return -EBADF;
	newfd = fdspace_alloc_install(&files->fdspace, file, nofile);
	if (newfd < 0) {
		fput(file);
		return newfd;
	}
	if (flags & FDUP_MOVE)
		close_fd(fd);
	return newfd;
}

SYSCALL_DEFINE2(fdup, unsigned int, fd, unsigned int, flags)
{
	return ksys_fdup(fd, flags);
}

struct file *fdspace_get_file(struct file __rcu **slot)
{
	struct file *file;

	rcu_read_lock();
	file = get_file_rcu(slot);
	rcu_read_unlock();
	return file;
}

/*
 * Publishes @space as the private space of the files_struct that owns
 * @field, unless one is there already (then returned, and @space is the
 * caller's to free). Under file_lock, with *@linear first set to the
 * number of open linear descriptors: linear opens and closes happen under
 * file_lock and charge the space from the moment they see it
 * (fdspace_charge_linear()), so none is missed or counted twice.
 */
void *fdspace_publish(void **field, void *space, u32 *linear)
{
	struct files_struct *files = container_of(field, struct files_struct,
						  fdspace);
	struct fdtable *fdt;
	void *old;

	spin_lock(&files->file_lock);
	old = READ_ONCE(*field);
	if (!old) {
		fdt = files_fdtable(files);
		WRITE_ONCE(*linear, bitmap_weight(fdt->open_fds, fdt->max_fds));
		/* Pairs with the Acquire load of the field (space() in Rust). */
		smp_store_release(field, space);
	}
	spin_unlock(&files->file_lock);
	return old;
}

/* array_index_nospec() (a macro, inline asm on x86) for the Rust lookup. */
unsigned long fdspace_index_nospec(unsigned long index, unsigned long size)
{
	return array_index_nospec(index, size);
}

/* Descriptors taken per task_lock hold by /proc/<pid>/fdspace. */
#define FDSPACE_PROC_BATCH	32

/*
 * /proc/<pid>/fdspace: "fd path" per private descriptor, for the owner
 * and debuggers; /proc/<pid>/fd does not list them.
 *
 * Access: the file's mode (S_IRUSR, owned as task_dump_owner() says) at
 * open, as for /proc/<pid>/fd, and at every read ptrace read access with
 * the credentials of the opener (as /proc/<pid>/fdinfo checks at open),
 * under exec_update_lock like lock_trace(): a task that has since become
 * undumpable (a setuid exec) is refused to an opener who can no longer
 * trace it, and a privileged reader of a file someone else opened
 * cannot be made to list what its opener may not see.
 *
 * The walk holds task_lock (which keeps task->files alive) for one batch
 * at a time: at most FDSPACE_PROC_BATCH file references taken and one
 * chunk of slots scanned per hold, printing with the lock dropped, so a
 * large sparse private table never holds task_lock for long.
 */
int proc_pid_fdspace(struct seq_file *m, struct pid_namespace *ns,
		     struct pid *pid, struct task_struct *task)
{
	struct file *files[FDSPACE_PROC_BATCH];
	u32 fds[FDSPACE_PROC_BATCH];
	const struct cred *old;
	unsigned int n, i;
	u32 pos = 0;
	bool allowed;
	int err;

	err = down_read_killable(&task->signal->exec_update_lock);
	if (err)
		return err;
	old = override_creds(m->file->f_cred);
	allowed = ptrace_may_access(task, PTRACE_MODE_READ_FSCREDS);
	revert_creds(old);
	if (!allowed) {
		up_read(&task->signal->exec_update_lock);
		return -EACCES;
	}
	while (pos != U32_MAX) {
		n = 0;
		task_lock(task);
		if (task->files)
			n = fdspace_collect(&task->files->fdspace, &pos, fds,
					    files, FDSPACE_PROC_BATCH);
		else
			pos = U32_MAX;
		task_unlock(task);
		for (i = 0; i < n; i++) {
			seq_printf(m, "%u ", fds[i]);
			seq_file_path(m, files[i], "\n");
			seq_putc(m, '\n');
			fput(files[i]);
		}
		cond_resched();
	}
	up_read(&task->signal->exec_update_lock);
	return 0;
}
