/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The private, non-linear file descriptor space (Documentation/fdspace.md).
 *
 * A private descriptor has bit 30 set, a number the kernel scrambles per
 * process, and is a real descriptor for every call that takes one. It is
 * never returned by a call that must return the lowest free number,
 * always close-on-exec, inherited by fork(), counted against
 * RLIMIT_NOFILE, and not listed in /proc/<pid>/fd.
 *
 *   605  fdup(fd, flags): a private duplicate of fd; with FDUP_MOVE, fd
 *        is closed (the descriptor moves into the private space).
 *        Errors: EBADF (fd), EINVAL (flags), EMFILE, ENOMEM.
 *
 * dup2(fd, NONLINEAR_FD) and dup3(fd, NONLINEAR_FD, O_CLOEXEC) do what
 * fdup(fd, 0) does. O_NONLINEAR (an open flag, also accepted by pipe2(),
 * socket(), socketpair() and accept4() as a type flag, eventfd2() and
 * epoll_create1()) creates the new descriptor in the private space
 * directly; so do MFD_NONLINEAR for memfd_create() and
 * MSG_CMSG_NONLINEAR for the SCM_RIGHTS descriptors recvmsg() receives.
 * close_range() leaves private descriptors alone unless given
 * CLOSE_RANGE_NONLINEAR; select() fails with EBADF for nfds above
 * NONLINEAR_FD once a process has private descriptors (an fd_set
 * cannot hold one). F_GETFL
 * reports O_NONLINEAR for a private descriptor.
 */
#ifndef _UAPI_LINUX_FDSPACE_H
#define _UAPI_LINUX_FDSPACE_H

#ifndef __NR_fdup
#define __NR_fdup		605
#endif

#define NONLINEAR_FD		0x40000000
#ifndef O_NONLINEAR
#define O_NONLINEAR		040000000
#endif
#define FDUP_MOVE		0x1
#define MFD_NONLINEAR		0x0020U
#ifndef MSG_CMSG_NONLINEAR
#define MSG_CMSG_NONLINEAR	0x10000000
#endif
#define CLOSE_RANGE_NONLINEAR	(1U << 3)

#endif /* _UAPI_LINUX_FDSPACE_H */
