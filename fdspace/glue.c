// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of the private fd space (fdspace.rs): the fdup() system call,
 * which pairs fget() with the Rust allocator the way dup() pairs it with
 * alloc_fd(), and an RCU wrapper Rust cannot write (get_file_rcu()).
 */
#include <linux/fdspace.h>
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/fs.h>
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
