// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the private fd space (fdspace.rs): the fdup() system call,
 * which pairs fget() with the Rust allocator the way dup() pairs it with
 * alloc_fd(), an RCU wrapper Rust cannot write (get_file_rcu()), and the
 * /proc/<pid>/fdspace printer.
 */
#include <linux/fdspace.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ptrace.h>
#include <linux/seq_file.h>
#include <linux/sched/signal.h>
#include <linux/syscalls.h>

long ksys_fdup(unsigned int fd, unsigned int flags)
{
	struct files_struct *files = current->files;
	struct file *file;
	int newfd;

	if (flags & ~FDUP_MOVE)
		return -EINVAL;
	file = fget_raw(fd);
	if (!file)
		return -EBADF;
	newfd = fdspace_alloc_install(&files->fdspace, file,
				      rlimit(RLIMIT_NOFILE));
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

static void show_one(unsigned int fd, struct file __rcu **slot, void *arg)
{
	struct seq_file *m = arg;
	struct file *file = fdspace_get_file(slot);

	if (!file)
		return;
	seq_printf(m, "%u ", fd);
	seq_file_path(m, file, "\n");
	seq_putc(m, '\n');
	fput(file);
}

/*
 * /proc/<pid>/fdspace: "fd path" per private descriptor, for the owner
 * and debuggers (ptrace read access, as /proc/<pid>/fd); /proc/<pid>/fd
 * does not list them.
 */
int proc_pid_fdspace(struct seq_file *m, struct pid_namespace *ns,
		     struct pid *pid, struct task_struct *task)
{
	struct files_struct *files;

	if (!ptrace_may_access(task, PTRACE_MODE_READ_FSCREDS))
		return -EACCES;
	task_lock(task);
	files = task->files;
	if (files)
		fdspace_for_each(&files->fdspace, show_one, m);
	task_unlock(task);
	return 0;
}
