// SPDX-License-Identifier: GPL-2.0
/*
 * System call shims of the syslet subsystem. Each one forwards its
 * arguments to the Rust implementation declared in <linux/syslet.h>.
 */
#include <linux/backing-dev.h>
#include <linux/blkdev.h>
#include <linux/cpu.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/syscalls.h>
#include <linux/syslet.h>
#include <asm/cpufeature.h>
#include <asm/nospec-branch.h>

#ifdef CONFIG_SYSLET_AIO
/*
 * Whether the page at @pos of @file looks cached and up to date: a hint
 * for syslet/aio.rs, which does not try a read inline whose first page is
 * not (the try would update the atime, which can wait for the journal,
 * and take a block device's inode lock, before it answered -EAGAIN).
 * Lockless and without a reference, as the page cache's own speculative
 * lookups start (filemap_get_read_batch()): under RCU the entry's struct
 * folio stays memory of the memory map, and the flags word of its first
 * page is read directly (no tail-page assertion: the folio may have been
 * freed and reused meanwhile). A stale answer only costs a read that
 * returns -EAGAIN, or a thread's round trip for a cached one. A DAX or
 * shadow entry is a value: not cached.
 */
bool syslet_page_cached(struct file *file, loff_t pos)
{
	void *entry;
	bool uptodate;

	rcu_read_lock();
	entry = xa_load(&file->f_mapping->i_pages, pos >> PAGE_SHIFT);
	uptodate = entry && !xa_is_value(entry) &&
		   test_bit(PG_uptodate, &((struct folio *)entry)->flags);
	rcu_read_unlock();
	return uptodate;
}

/*
 * Starts the device's read of the @nr pages of @file from @index that are
 * not cached, those and no more (page_cache_ra_unbounded(), a forced
 * read-ahead with a state of its own: the file's read-ahead window stays
 * its reads'), allocating without I/O as an IOCB_NOWAIT read does:
 * syslet/aio.rs starts a cold read's I/O inside io_submit(), within the
 * file's size, and an async thread waits for it. Not while the mapping's
 * invalidate lock is held (a truncation, a hole punch, BLKZEROOUT): the
 * thread reads then, and io_submit() does not wait for the holder. The
 * try is a hint: a holder that comes between it and the read-ahead's own
 * shared lock is waited for, and the read-ahead waits for what a stock
 * read's waits for on its way (a file system's extent lookup, a free
 * request of the device). Only for a mapping with a page cache to read
 * into (not DAX, not a pseudo file system's: generic_fadvise()'s checks).
 * Pages in the cache already, read or being read, are skipped. Returns
 * whether the read-ahead ran: a hint for the line of cold reads
 * (syslet/line.rs), whose reads check each page again before they wait
 * for it (syslet_page_wait()).
 */
bool syslet_readahead(struct file *file, pgoff_t index, unsigned long nr)
{
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	struct file_ra_state ra = {};
	DEFINE_READAHEAD(ractl, file, &ra, mapping, index);
	unsigned int flags;

	if (IS_DAX(inode) || inode_to_bdi(inode) == &noop_backing_dev_info ||
	    (!mapping->a_ops->read_folio && !mapping->a_ops->readahead))
		return false;
	if (!filemap_invalidate_trylock_shared(mapping))
		return false;
	filemap_invalidate_unlock_shared(mapping);
	flags = memalloc_noio_save();
	page_cache_ra_unbounded(&ractl, nr, 0);
	memalloc_noio_restore(flags);
	return true;
}

/*
 * The try of a read waiting in the line of cold reads (syslet/aio/cold.rs,
 * IOCB_NOWAIT set): as syslet_read_iter_nofault(), but a block device's
 * inode lock, which blkdev_read_iter() takes whatever IOCB_NOWAIT says, is
 * only tried (-EAGAIN when it is taken: a writer holds it shared while it
 * faults on its source, and a seek waits for it exclusive behind that).
 * Held, the read is blkdev_read_iter()'s buffered one: clamped to the
 * device's size, no atime update for nothing to read.
 */
ssize_t syslet_read_iter_line(struct kiocb *req, struct iov_iter *iter)
{
	struct inode *host = req->ki_filp->f_mapping->host;
	size_t shorted = 0;
	loff_t size;
	ssize_t ret = 0;

	if (!S_ISBLK(host->i_mode))
		return syslet_read_iter_nofault(req, iter);
	if (!inode_trylock_shared(host))
		return -EAGAIN;
	size = bdev_nr_bytes(I_BDEV(host));
	if (req->ki_pos >= size)
		goto unlock;
	if (req->ki_pos + iov_iter_count(iter) > size) {
		shorted = iov_iter_count(iter) - (size - req->ki_pos);
		iov_iter_truncate(iter, size - req->ki_pos);
	}
	if (iov_iter_count(iter)) {
		pagefault_disable();
		ret = filemap_read(req, iter, 0);
		pagefault_enable();
	}
	if (shorted)
		iov_iter_reexpand(iter, iov_iter_count(iter) + shorted);
unlock:
	inode_unlock_shared(host);
	return ret;
}

/*
 * For a read waiting in the line of cold reads (syslet/aio/cold.rs), whose
 * IOCB_NOWAIT try at @pos returned -EAGAIN: whether the page
 * there is up to date, after waiting (killable) for the read that holds it
 * locked. Only that wait, a device's: the try's -EAGAIN for anything else
 * (a file system's lock, the invalidate lock) finds the page up to date
 * and unlocked, and the read leaves the line before it waits for that.
 * False: not in the cache, its read failed, or a fatal signal came.
 */
bool syslet_page_wait(struct file *file, loff_t pos)
{
	struct folio *folio;
	bool uptodate;

	folio = filemap_get_folio(file->f_mapping, pos >> PAGE_SHIFT);
	if (IS_ERR(folio))
		return false;
	if (!folio_test_uptodate(folio))
		folio_wait_locked_killable(folio);
	uptodate = folio_test_uptodate(folio);
	folio_put(folio);
	return uptodate;
}

/*
 * User segment @i of @iter's remaining destination, for syslet/aio/dest.rs
 * (which decides where a cold read in line may copy to): its address and
 * length, the first segment's from where the iterator got to. False past
 * the last segment, or for an iterator of kernel memory.
 */
bool syslet_iter_seg(const struct iov_iter *iter, unsigned long i,
		     unsigned long *addr, size_t *len)
{
	const struct iovec *iov;
	size_t skip = i ? 0 : iter->iov_offset;

	if (!user_backed_iter(iter))
		return false;
	if (iter_is_ubuf(iter)) {
		if (i)
			return false;
		*addr = (unsigned long)iter->ubuf + skip;
		*len = iov_iter_count(iter);
		return true;
	}
	if (i >= iter->nr_segs)
		return false;
	iov = iter_iov(iter) + i;
	*addr = (unsigned long)iov->iov_base + skip;
	*len = iov->iov_len - skip;
	return true;
}

/* For syslet/aio/dest.rs: a BIT() where shadow stacks are configured. */
const unsigned long syslet_vm_shadow_stack = VM_SHADOW_STACK;

static_assert(!(SYSLET_JOBCTL_KILL &
		(JOBCTL_STOP_SIGMASK | JOBCTL_STOP_DEQUEUED | JOBCTL_STOP_PENDING |
		 JOBCTL_STOP_CONSUME | JOBCTL_TRAP_STOP | JOBCTL_TRAP_NOTIFY |
		 JOBCTL_TRAPPING | JOBCTL_LISTENING | JOBCTL_TRAP_FREEZE |
		 JOBCTL_PTRACE_FROZEN | JOBCTL_STOPPED | JOBCTL_TRACED)));

/*
 * syslet/aio/cancel.rs's cancellation of a read or write on async thread @t:
 * interrupts @t's sleeps, killable ones too, as a SIGKILL would, with a
 * SIGKILL in @t's private pending set, marked SYSLET_JOBCTL_KILL - unless
 * *@state has @done, or SIGKILL is pending already. That is checked under
 * @t's siglock, which syslet_uninterrupt() takes, after @t set @done, to
 * take the signal back: none is left behind.
 */
void syslet_interrupt(struct task_struct *t, unsigned long *state,
		      unsigned long done)
{
	unsigned long flags;

	if (!lock_task_sighand(t, &flags))
		return;
	if (!(READ_ONCE(*state) & done) &&
	    !sigismember(&t->pending.signal, SIGKILL)) {
		sigaddset(&t->pending.signal, SIGKILL);
		t->jobctl |= SYSLET_JOBCTL_KILL;
		/* (not signal_wake_up(): that also ends a stop) */
		signal_wake_up_state(t, TASK_WAKEKILL);
	}
	unlock_task_sighand(t, &flags);
}

/*
 * Takes back syslet_interrupt()'s SIGKILL: only if still marked (a real
 * one took it over otherwise) and the group is not dying (a group exit,
 * exec or core dump sent every thread a SIGKILL of its own).
 */
void syslet_uninterrupt(void)
{
	struct task_struct *t = current;

	spin_lock_irq(&t->sighand->siglock);
	if (t->jobctl & SYSLET_JOBCTL_KILL) {
		t->jobctl &= ~SYSLET_JOBCTL_KILL;
		if (!(t->signal->flags & SIGNAL_GROUP_EXIT) &&
		    !t->signal->group_exec_task) {
			sigdelset(&t->pending.signal, SIGKILL);
			recalc_sigpending();
		}
	}
	spin_unlock_irq(&t->sighand->siglock);
}

/* A real SIGKILL for @t, under its siglock: the pending bit is its now. */
void syslet_real_kill(struct task_struct *t)
{
	t->jobctl &= ~SYSLET_JOBCTL_KILL;
	sigdelset(&t->pending.signal, SIGKILL);
}

/* syslet/aio.rs's inline try of a read: it copies what it can, never faulting. */
ssize_t syslet_read_iter_nofault(struct kiocb *req, struct iov_iter *iter)
{
	ssize_t ret;

	pagefault_disable();
	ret = req->ki_filp->f_op->read_iter(req, iter);
	pagefault_enable();
	return ret;
}
#endif

SYSCALL_DEFINE2(async_exec, void __user *, atom, void __user *, ahu)
{
	return syslet_rs_async_exec((unsigned long)atom, (unsigned long)ahu);
}

SYSCALL_DEFINE3(async_wait, unsigned long, min_wait_events,
		unsigned long, user_ring_idx, void __user *, ahu)
{
	return syslet_rs_async_wait(min_wait_events, user_ring_idx,
				    (unsigned long)ahu);
}

SYSCALL_DEFINE2(umem_add, unsigned long __user *, uptr, unsigned long, inc)
{
	return syslet_rs_umem_add((unsigned long)uptr, inc);
}

SYSCALL_DEFINE1(threadlet_on, unsigned long, flags)
{
	return syslet_rs_threadlet_on(flags);
}

SYSCALL_DEFINE0(threadlet_off)
{
	return syslet_rs_threadlet_off();
}

/*
 * Whether syslet/invoke.rs may call an atom's system call through
 * sys_call_table (one indirect call) rather than x64_sys_call()'s switch:
 * only when the kernel runs without CPU mitigations and no Spectre-BHI
 * mitigation is active, since x86 dispatches system calls with a switch
 * for BHI's sake. Decided once, at boot, when syslet/invoke.rs fills its
 * direct table.
 */
bool syslet_table_dispatch __ro_after_init;

static int __init syslet_dispatch_init(void)
{
	syslet_table_dispatch = cpu_mitigations_off() &&
				!boot_cpu_has(X86_FEATURE_CLEAR_BHB_LOOP) &&
				!(x86_spec_ctrl_base & SPEC_CTRL_BHI_DIS_S);
	syslet_rs_dispatch_init(syslet_table_dispatch);
	return 0;
}
late_initcall(syslet_dispatch_init);
