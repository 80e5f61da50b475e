// SPDX-License-Identifier: LGPL-2.1-or-later
/* The private, non-linear fd space (Documentation/fdspace.md). */
#include <fcntl.h>
#include "internal.h"

SYSLET_API int syslet_fdup(int fd, unsigned int flags)
{
	return (int)sl_sys3(__NR_fdup, fd, flags, 0);
}

SYSLET_API int syslet_dup_private(int fd)
{
	return (int)sl_sys3(__NR_dup2, fd, NONLINEAR_FD, 0);
}

SYSLET_API int syslet_openat_private(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)sl_sys4(__NR_openat, dirfd, (long)path, flags | O_NONLINEAR, mode);
}

SYSLET_API int syslet_close_private_fds(void)
{
	/* Linear numbers stay below NONLINEAR_FD: this range holds only
	 * private descriptors. */
	return (int)sl_sys3(__NR_close_range, NONLINEAR_FD, ~0U, CLOSE_RANGE_NONLINEAR);
}
