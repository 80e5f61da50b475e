// SPDX-License-Identifier: GPL-2.0
/*
 * User memory access for the engine's hot path (syslet/abi.rs): get_user(),
 * put_user() and unsafe_get_user() are macros Rust cannot call.
 *
 * What a chain pays for is mostly calls, returns and the user-access
 * windows they open (stac/clac), not the loads (syslet/tuning.rs). So an
 * async_exec() reads everything it needs before running anything (head,
 * ring slot, first atom and its arguments) in one call and one window,
 * and each later atom costs one that stores the previous result and
 * reads it, without a copy_from_user() of the whole atom.
 *
 * The decoding and the checks on the values read stay in Rust, except
 * what the one window needs: the ring slot address (the one
 * AsyncHead::next_slot() computes) and the ring geometry that makes it
 * computable: the same checks as AsyncHead::decode(), which then only
 * decodes a head refused here to tell EINVAL from EFAULT. They guard the
 * slot arithmetic (no division by zero, no wrap) and decide nothing:
 * Rust cannot be called from inside the open window (objtool refuses a
 * call with user access enabled), and a second window would cost what
 * this one saves.
 */
#include <linux/syslet.h>
#include <linux/uaccess.h>

/*
 * The two reads every chain makes are in the section of the cachemiss
 * chain loop (syslet/tuning.rs, hot_chain()), .text.hot near
 * the start of the kernel's text, right after the loop (syslet/Makefile
 * links this file after the crate): on its page in the non-debug kernel,
 * and where they fall no longer moves with unrelated code.
 */
#define __syslet_hot	__section(".text.hot.syslet_chain")

int syslet_read_words(unsigned long *dst, const unsigned long __user *src,
		      unsigned int n)
{
	unsigned int i;

	might_fault();
	if (!user_access_begin(src, n * sizeof(*src)))
		return -EFAULT;
	for (i = 0; i < n; i++)
		unsafe_get_user(dst[i], &src[i], efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * Inside an open window: reads the atom at @src (SYSLET_ATOM_WORDS words)
 * and the words its argument pointers (words 4-9) point to, up to the
 * first NULL one; the arguments after it are 0. A chain reads every atom
 * into the same buffers, so nothing of the previous atom may remain.
 */
static __always_inline int read_atom(unsigned long *atom, unsigned long *args,
				     const unsigned long __user *src)
{
	unsigned int i;

	for (i = 0; i < 6; i++)
		args[i] = 0;
	if (!access_ok(src, SYSLET_ATOM_WORDS * sizeof(*src)))
		return SYSLET_UREAD_ATOM_FAULT;
	barrier_nospec();
	for (i = 0; i < SYSLET_ATOM_WORDS; i++)
		unsafe_get_user(atom[i], &src[i], atom_fault);
	for (i = 0; i < 6; i++) {
		const unsigned long __user *p = (const void __user *)atom[4 + i];

		if (!p)
			break;
		if (!access_ok(p, sizeof(*p)))
			return SYSLET_UREAD_ARG_FAULT;
		barrier_nospec();
		unsafe_get_user(args[i], p, arg_fault);
	}
	return SYSLET_UREAD_OK;
atom_fault:
	return SYSLET_UREAD_ATOM_FAULT;
arg_fault:
	return SYSLET_UREAD_ARG_FAULT;
}

/*
 * async_exec()'s reads, in one window: the head at @ahu
 * (SYSLET_HEAD_WORDS words), the ring slot it names next, then the first
 * atom at @src as read_atom() does. Stops at the first failure.
 */
__syslet_hot
int syslet_read_submission(unsigned long *head, unsigned long *slot,
			   unsigned long *atom, unsigned long *args,
			   const unsigned long __user *ahu,
			   const unsigned long __user *src)
{
	const unsigned long __user *p;
	unsigned long ring, size;
	unsigned int i;
	int r;

	might_fault();
	if (!user_access_begin(ahu, SYSLET_HEAD_WORDS * sizeof(*ahu)))
		return SYSLET_UREAD_HEAD_FAULT;
	for (i = 0; i < SYSLET_HEAD_WORDS; i++)
		unsafe_get_user(head[i], &ahu[i], head_fault);
	ring = head[2];
	size = head[3];
	if (!size || size % sizeof(*p) || ring + size < ring) {
		user_access_end();
		return SYSLET_UREAD_HEAD_INVALID;
	}
	p = (const void __user *)(ring + head[0] % (size / sizeof(*p)) * sizeof(*p));
	if (!access_ok(p, sizeof(*p)))
		goto slot_fault;
	barrier_nospec();
	unsafe_get_user(*slot, p, slot_fault);
	r = read_atom(atom, args, src);
	user_access_end();
	return r;
head_fault:
	user_access_end();
	return SYSLET_UREAD_HEAD_FAULT;
slot_fault:
	user_access_end();
	return SYSLET_UREAD_SLOT_FAULT;
}

/*
 * Between two atoms, in one window: stores @ret at @ret_ptr (unless it
 * is NULL), then reads the next atom at @src (unless it is NULL) as
 * read_atom() does.
 */
__syslet_hot
int syslet_store_read_atom(unsigned long __user *ret_ptr, unsigned long ret,
			   unsigned long *atom, unsigned long *args,
			   const unsigned long __user *src)
{
	int r = SYSLET_UREAD_OK;

	might_fault();
	__uaccess_begin();
	if (ret_ptr) {
		if (!access_ok(ret_ptr, sizeof(*ret_ptr)))
			goto store_fault;
		unsafe_put_user(ret, ret_ptr, store_fault);
	}
	if (src)
		r = read_atom(atom, args, src);
	user_access_end();
	return r;
store_fault:
	user_access_end();
	return SYSLET_UREAD_STORE_FAULT;
}
