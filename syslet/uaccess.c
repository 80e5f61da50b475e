// SPDX-License-Identifier: GPL-2.0
/*
 * Word-sized user memory access for the engine's hot path (syslet/abi.rs,
 * syslet/invoke.rs, syslet/engine.rs): get_user(), put_user() and
 * unsafe_get_user() are macros Rust cannot call. The kernel's
 * copy_from_user() of an 88-byte atom ends in "rep movsb", which an
 * emulating CPU (QEMU TCG, where the project runs) executes byte by byte;
 * eleven word loads in one user-access window cost a fraction of that.
 */
#include <linux/syslet.h>
#include <linux/uaccess.h>

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

int syslet_get_word(unsigned long *dst, const unsigned long __user *src)
{
	return get_user(*dst, src);
}

int syslet_put_word(unsigned long __user *dst, unsigned long v)
{
	return put_user(v, dst);
}
