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

/*
 * Reads an atom (11 words at @src) and the words its argument pointers
 * (words 4-9) point to, up to the first NULL one, in one user-access
 * window: 0 when all were read, 1 when the atom was and an argument was
 * not, -EFAULT when the atom could not be read.
 */
int syslet_read_atom(unsigned long *atom, unsigned long *args,
		     const unsigned long __user *src)
{
	unsigned int i;

	might_fault();
	if (!user_access_begin(src, 11 * sizeof(*src)))
		return -EFAULT;
	for (i = 0; i < 11; i++)
		unsafe_get_user(atom[i], &src[i], efault_atom);
	for (i = 0; i < 6; i++) {
		const unsigned long __user *p = (const void __user *)atom[4 + i];

		if (!p)
			break;
		if (!access_ok(p, sizeof(*p)))
			goto efault_arg;
		/* As user_access_begin() does after its access_ok(). */
		barrier_nospec();
		unsafe_get_user(args[i], p, efault_arg);
	}
	user_access_end();
	return 0;
efault_arg:
	user_access_end();
	return 1;
efault_atom:
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
