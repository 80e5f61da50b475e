/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between fs/file.c (patches/0007-0009, 0011) and the private
 * fd space (syslets/fdspace/, Rust). Each function takes the fdspace
 * field of a files_struct; the Rust side owns what it points to.
 */
#ifndef _LINUX_FDSPACE_H
#define _LINUX_FDSPACE_H

#include <linux/compiler.h>
#include <linux/types.h>
#include <uapi/linux/fdspace.h>

struct file;
struct files_struct;

#ifdef CONFIG_FDSPACE
/* The uapi flags; without CONFIG_FDSPACE they are 0, rejected as unknown. */
#define MFD_NONLINEAR_FLAG		MFD_NONLINEAR
#define CLOSE_RANGE_NONLINEAR_FLAG	CLOSE_RANGE_NONLINEAR

static inline bool fdspace_fd(unsigned int fd)
{
	return fd & NONLINEAR_FD;
}
/* Lock-free (RCU): the slot of a private fd, NULL if there is none. */
struct file __rcu **fdspace_entry(void **field, unsigned int fd);
int fdspace_reserve(void **field, u64 nofile);
int fdspace_alloc_install(void **field, struct file *file, u64 nofile);
void fdspace_install(void **field, unsigned int fd, struct file *file);
void fdspace_unreserve(void **field, unsigned int fd);
struct file *fdspace_close(void **field, unsigned int fd);
void fdspace_close_all(struct files_struct *files, void **field);
void fdspace_close_range(struct files_struct *files, void **field,
			 unsigned int lo, unsigned int hi);
int fdspace_dup(void **dst, void **src);
void fdspace_release(struct files_struct *files, void **field);
unsigned int fdspace_collect(void **field, u32 *pos, u32 *fds,
			     struct file **files, u32 max);
int fdspace_iterate(void **field, unsigned int start,
		    int (*f)(const void *, struct file *, unsigned int),
		    const void *p);
unsigned int fdspace_private_count(void **field);
int fdspace_charge(void **field, u64 nofile);
void fdspace_uncharge(void **field);

/*
 * RLIMIT_NOFILE bounds linear and private descriptors together once a
 * process has a private space: fs/file.c charges each new linear
 * descriptor (-EMFILE at @nofile) and uncharges each closed one, under
 * files->file_lock (the space is published under it too). Without a
 * space, one load and a not-taken branch.
 */
static inline int fdspace_charge_linear(void **field, u64 nofile)
{
	if (likely(!READ_ONCE(*field)))
		return 0;
	return fdspace_charge(field, nofile);
}

static inline void fdspace_uncharge_linear(void **field)
{
	if (unlikely(READ_ONCE(*field)))
		fdspace_uncharge(field);
}

/* Has the process private descriptors open (select())? */
static inline bool fdspace_private_open(void **field)
{
	return READ_ONCE(*field) && fdspace_private_count(field);
}

struct seq_file;
struct pid_namespace;
struct pid;
struct task_struct;
int proc_pid_fdspace(struct seq_file *m, struct pid_namespace *ns,
		     struct pid *pid, struct task_struct *task);
/* fdspace/glue.c */
long ksys_fdup(unsigned int fd, unsigned int flags);
struct file *fdspace_get_file(struct file __rcu **slot);
void *fdspace_publish(void **field, void *space, u32 *linear);
unsigned long fdspace_index_nospec(unsigned long index, unsigned long size);
#else
#define MFD_NONLINEAR_FLAG		0
#define CLOSE_RANGE_NONLINEAR_FLAG	0
static inline bool fdspace_fd(unsigned int fd) { return false; }
static inline struct file __rcu **fdspace_entry(void **field, unsigned int fd) { return NULL; }
static inline struct file *fdspace_close(void **field, unsigned int fd) { return NULL; }
static inline void fdspace_close_all(struct files_struct *files, void **field) { }
static inline void fdspace_close_range(struct files_struct *files, void **field,
				       unsigned int lo, unsigned int hi) { }
static inline int fdspace_dup(void **dst, void **src) { return 0; }
static inline void fdspace_release(struct files_struct *files, void **field) { }
static inline long ksys_fdup(unsigned int fd, unsigned int flags) { return -EBADF; }
#endif

#endif /* _LINUX_FDSPACE_H */
