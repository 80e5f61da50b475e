// SPDX-License-Identifier: GPL-2.0
/*
 * The private, non-linear fd space (fdspace/, Documentation/fdspace.md):
 * fdup() and dup2(fd, NONLINEAR_FD), what private fds work with, where
 * they never show up, fork/exec/close_range, RLIMIT_NOFILE, bad input,
 * and threads allocating and closing at once.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "syslet_test.h"
#include <linux/fdspace.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static long sys_fdup(int fd, unsigned int flags)
{
	return syscall(__NR_fdup, fd, flags);
}

/* Run by the exec test: is fd (argv) still open after execve()? */
__attribute__((constructor)) static void exec_probe(void)
{
	const char *fd = getenv("FDSPACE_PROBE_FD");

	if (fd)
		_exit(fcntl(atoi(fd), F_GETFD) == -1 && errno == EBADF ? 0 : 1);
}

static int is_private(long fd)
{
	return fd > 0 && (fd & NONLINEAR_FD) && fd != NONLINEAR_FD;
}

/* Opens /dev/null with O_NONLINEAR into fds[] until a call gives no
 * private descriptor or max are open: how many are. */
static int open_private_until_full(long *fds, int max)
{
	int n;

	for (n = 0; n < max; n++) {
		fds[n] = open("/dev/null", O_RDONLY | O_NONLINEAR);
		if (!is_private(fds[n]))
			break;
	}
	return n;
}

TEST(fdup_gives_a_private_fd_that_works)
{
	int p[2], ep, d;
	long rfd, wfd;
	char buf[8] = { 0 };
	struct stat st_priv, st_lin;
	struct pollfd pfd;
	struct epoll_event ev = { .events = EPOLLIN }, out;

	ASSERT_EQ(0, pipe(p));
	rfd = sys_fdup(p[0], 0);
	wfd = sys_fdup(p[1], FDUP_MOVE);
	ASSERT_TRUE(is_private(rfd)) TH_LOG("rfd %#lx", rfd);
	ASSERT_TRUE(is_private(wfd)) TH_LOG("wfd %#lx", wfd);
	/* FDUP_MOVE closed the original. */
	EXPECT_EQ(-1, fcntl(p[1], F_GETFD));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(5, write(wfd, "hello", 5));
	pfd = (struct pollfd){ .fd = rfd, .events = POLLIN };
	EXPECT_EQ(1, poll(&pfd, 1, 1000));
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	EXPECT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &ev));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 1000));
	EXPECT_EQ(5, read(rfd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(0, fstat(rfd, &st_priv));
	EXPECT_EQ(0, fstat(p[0], &st_lin));
	EXPECT_EQ(st_lin.st_ino, st_priv.st_ino);
	/* Always close-on-exec; F_SETFD cannot clear it. */
	EXPECT_EQ(FD_CLOEXEC, fcntl(rfd, F_GETFD));
	EXPECT_EQ(0, fcntl(rfd, F_SETFD, 0));
	EXPECT_EQ(FD_CLOEXEC, fcntl(rfd, F_GETFD));
	/* dup() of a private fd is linear and lowest. */
	d = dup(rfd);
	EXPECT_FALSE(d & NONLINEAR_FD);
	EXPECT_LT(d, 64);
	close(d);
	EXPECT_EQ(0, close(rfd));
	EXPECT_EQ(-1, close(rfd));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, read(rfd, buf, 1));
	EXPECT_EQ(EBADF, errno);
	close(wfd);
	close(ep);
	close(p[0]);
}

TEST(dup2_and_dup3_to_nonlinear_fd)
{
	long a = dup2(0, NONLINEAR_FD), b = dup3(0, NONLINEAR_FD, O_CLOEXEC);

	EXPECT_TRUE(is_private(a)) TH_LOG("%#lx", a);
	EXPECT_TRUE(is_private(b)) TH_LOG("%#lx", b);
	EXPECT_NE(a, b);
	/* A made-up number in the space is no descriptor. */
	EXPECT_EQ(-1, dup2(0, NONLINEAR_FD | 5));
	EXPECT_EQ(EBADF, errno);
	close(a);
	close(b);
}

TEST(numbers_are_scrambled_and_never_the_lowest)
{
	long fds[64];
	int i, ordered = 1, lowest;

	for (i = 0; i < 64; i++) {
		fds[i] = sys_fdup(0, 0);
		ASSERT_TRUE(is_private(fds[i]));
		if (i && fds[i] != fds[i - 1] + 1)
			ordered = 0;
	}
	EXPECT_FALSE(ordered);
	for (i = 1; i < 64; i++)
		EXPECT_NE(fds[i], fds[i - 1]);
	lowest = open("/dev/null", O_RDONLY);
	EXPECT_FALSE(lowest & NONLINEAR_FD);
	EXPECT_LT(lowest, 64);
	close(lowest);
	for (i = 0; i < 64; i++)
		EXPECT_EQ(0, close(fds[i]));
}

TEST(hidden_from_proc_fd_but_fdinfo_works)
{
	int null = open("/dev/null", O_RDONLY);
	long fd = sys_fdup(null, FDUP_MOVE);
	char path[64], line[128];
	struct dirent *d;
	int seen = 0, flags_ok = 0, listed = 0;
	DIR *dir;
	FILE *f;

	ASSERT_TRUE(is_private(fd));
	dir = opendir("/proc/self/fd");
	ASSERT_NE(NULL, dir);
	while ((d = readdir(dir)))
		if (atol(d->d_name) == fd)
			seen = 1;
	closedir(dir);
	EXPECT_FALSE(seen);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%ld", fd);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags:", 6) && strtol(line + 6, NULL, 8) & O_CLOEXEC)
			flags_ok = 1;
	fclose(f);
	EXPECT_TRUE(flags_ok);
	/* Listed for the owner in /proc/<pid>/fdspace, with its path. */
	f = fopen("/proc/self/fdspace", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (atol(line) == fd && strstr(line, " /dev/null"))
			listed = 1;
	fclose(f);
	EXPECT_TRUE(listed);
	close(fd);
}

TEST(fork_inherits_exec_closes_close_range_leaves)
{
	int p[2], status;
	long rfd;
	pid_t child;
	char c;

	ASSERT_EQ(0, pipe(p));
	rfd = sys_fdup(p[0], FDUP_MOVE);
	ASSERT_TRUE(is_private(rfd));
	/* close_range() over the linear space leaves private fds alone. */
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		syscall(SYS_close_range, 0, ~0U, 0);
		_exit(fcntl(rfd, F_GETFD) == FD_CLOEXEC ? 0 : 1);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	/* fork: the same number reads the same pipe. */
	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		_exit(read(rfd, &c, 1) == 1 && c == 'z' ? 0 : 1);
	ASSERT_EQ(1, write(p[1], "z", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	/* execve: gone. */
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		char num[24];

		snprintf(num, sizeof(num), "%ld", rfd);
		setenv("FDSPACE_PROBE_FD", num, 1);
		execl("/proc/self/exe", "fdspace_test", NULL);
		_exit(2);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	close(rfd);
	close(p[1]);
}

TEST(rlimit_nofile_and_bad_input)
{
	struct rlimit old, lim = { 16, 16 };
	long fds[32];
	int n = 0, i;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	for (i = 0; i < 32; i++) {
		fds[n] = sys_fdup(0, 0);
		if (fds[n] < 0)
			break;
		n++;
	}
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(16, n);
	for (i = 0; i < n; i++)
		close(fds[i]);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	EXPECT_EQ(-1, sys_fdup(-1, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, sys_fdup(12345, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, sys_fdup(0, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, close(NONLINEAR_FD));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, fcntl(NONLINEAR_FD | 12345, F_GETFD));
	EXPECT_EQ(EBADF, errno);
}

TEST(o_nonlinear_creates_private_fds)
{
	struct rlimit old, lim = { 4, 4 };
	int p[2], s, ev, ep, fd, i, n;
	long fds[8];
	uint64_t v = 7;
	char c = 0;

	fd = open("/dev/null", O_RDONLY | O_NONLINEAR);
	EXPECT_TRUE(is_private(fd)) TH_LOG("open: %#x", fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	close(fd);
	ASSERT_EQ(0, pipe2(p, O_NONLINEAR));
	EXPECT_TRUE(is_private(p[0]));
	EXPECT_TRUE(is_private(p[1]));
	EXPECT_EQ(1, write(p[1], "q", 1));
	EXPECT_EQ(1, read(p[0], &c, 1));
	EXPECT_EQ('q', c);
	close(p[0]);
	close(p[1]);
	s = socket(AF_UNIX, SOCK_STREAM | O_NONLINEAR, 0);
	EXPECT_TRUE(is_private(s)) TH_LOG("socket: %#x", s);
	close(s);
	ev = eventfd(0, O_NONLINEAR);
	EXPECT_TRUE(is_private(ev)) TH_LOG("eventfd: %#x", ev);
	EXPECT_EQ(8, write(ev, &v, 8));
	v = 0;
	EXPECT_EQ(8, read(ev, &v, 8));
	EXPECT_EQ(7, v);
	close(ev);
	ep = epoll_create1(O_NONLINEAR);
	EXPECT_TRUE(is_private(ep)) TH_LOG("epoll: %#x", ep);
	close(ep);
	/* Failed opens give their reserved descriptor back. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	for (i = 0; i < 10; i++)
		EXPECT_EQ(-1, open("/nonexistent", O_RDONLY | O_NONLINEAR));
	n = open_private_until_full(fds, 8);
	EXPECT_EQ(4, n);
	while (n--)
		close(fds[n]);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
}

/* Sends fd over the datagram socket s with SCM_RIGHTS. */
static int send_fd(int s, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(s, &mh, 0) == 1 ? 0 : -1;
}

/* Receives one message from s; the descriptor it carried, or -1 (and
 * *flags says why, e.g. MSG_CTRUNC). */
static int recv_fd(int s, int rflags, int *flags)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 }, c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(s, &mh, rflags) != 1)
		return -1;
	*flags = mh.msg_flags;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

TEST(scm_rights_received_into_private_space)
{
	struct rlimit old, lim;
	int sv[2], p[2], r, flags, n;
	long held[64];
	char c = 0;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	ASSERT_EQ(0, pipe(p));
	/* MSG_CMSG_NONLINEAR: private, close-on-exec, the same pipe. */
	ASSERT_EQ(0, send_fd(sv[0], p[0]));
	r = recv_fd(sv[1], MSG_CMSG_NONLINEAR, &flags);
	EXPECT_TRUE(is_private(r)) TH_LOG("received %#x", r);
	EXPECT_EQ(FD_CLOEXEC, fcntl(r, F_GETFD));
	EXPECT_EQ(1, write(p[1], "m", 1));
	EXPECT_EQ(1, read(r, &c, 1));
	EXPECT_EQ('m', c);
	EXPECT_EQ(0, close(r));
	/* Together with MSG_CMSG_CLOEXEC. */
	ASSERT_EQ(0, send_fd(sv[0], p[0]));
	r = recv_fd(sv[1], MSG_CMSG_NONLINEAR | MSG_CMSG_CLOEXEC, &flags);
	EXPECT_TRUE(is_private(r));
	EXPECT_EQ(0, close(r));
	/* Without it: a linear descriptor, as before. */
	ASSERT_EQ(0, send_fd(sv[0], p[0]));
	r = recv_fd(sv[1], 0, &flags);
	EXPECT_LE(0, r);
	EXPECT_FALSE(r & NONLINEAR_FD);
	EXPECT_EQ(0, fcntl(r, F_GETFD));
	EXPECT_EQ(0, close(r));
	/* No room under RLIMIT_NOFILE: the message arrives with MSG_CTRUNC
	 * and no descriptor, and nothing leaks (the next one fits). */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	lim.rlim_cur = lim.rlim_max = 4;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	n = open_private_until_full(held, 64);
	ASSERT_EQ(4, n);
	ASSERT_EQ(0, send_fd(sv[0], p[0]));
	r = recv_fd(sv[1], MSG_CMSG_NONLINEAR, &flags);
	EXPECT_EQ(-1, r);
	EXPECT_TRUE(flags & MSG_CTRUNC);
	EXPECT_EQ(0, close(held[--n]));
	ASSERT_EQ(0, send_fd(sv[0], p[0]));
	r = recv_fd(sv[1], MSG_CMSG_NONLINEAR, &flags);
	EXPECT_TRUE(is_private(r));
	EXPECT_EQ(0, close(r));
	while (n--)
		close(held[n]);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

TEST(memfd_and_socketpair_create_private_fds)
{
	int m, sv[2];
	char *map, buf[6] = { 0 };

	m = memfd_create("fdspace", MFD_NONLINEAR | MFD_CLOEXEC);
	ASSERT_TRUE(is_private(m)) TH_LOG("memfd: %#x", m);
	EXPECT_EQ(FD_CLOEXEC, fcntl(m, F_GETFD));
	/* mmap() of a private descriptor. */
	ASSERT_EQ(0, ftruncate(m, 4096));
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	ASSERT_NE(MAP_FAILED, map);
	memcpy(map, "mapped", 6);
	EXPECT_EQ(6, pread(m, buf, 6, 0));
	EXPECT_EQ(0, memcmp(buf, "mapped", 6));
	EXPECT_EQ(0, munmap(map, 4096));
	EXPECT_EQ(0, close(m));
	m = memfd_create("fdspace", MFD_NONLINEAR | MFD_ALLOW_SEALING);
	EXPECT_TRUE(is_private(m));
	EXPECT_EQ(0, fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	close(m);
	m = memfd_create("linear", 0);
	EXPECT_FALSE(m & NONLINEAR_FD);
	close(m);

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | O_NONLINEAR, 0, sv));
	EXPECT_TRUE(is_private(sv[0]));
	EXPECT_TRUE(is_private(sv[1]));
	EXPECT_NE(sv[0], sv[1]);
	EXPECT_EQ(2, send(sv[0], "sp", 2, 0));
	EXPECT_EQ(2, recv(sv[1], buf, 2, 0));
	EXPECT_EQ(0, memcmp(buf, "sp", 2));
	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ(-1, socketpair(AF_UNIX, SOCK_STREAM | O_NONLINEAR | O_TRUNC, 0, sv));
	EXPECT_EQ(EINVAL, errno);
}

TEST(fd_taking_calls_on_private_fds)
{
	char path[] = "/tmp/fdspace-XXXXXX", buf[16] = { 0 };
	struct timeval tv = { 0, 0 };
	int f, p[2], avail = 0;
	long pf, pr, pw;
	loff_t off = 0;

	f = mkstemp(path);
	ASSERT_LE(0, f);
	unlink(path);
	ASSERT_EQ(10, write(f, "0123456789", 10));
	pf = sys_fdup(f, 0);
	ASSERT_TRUE(is_private(pf));
	ASSERT_EQ(0, pipe2(p, O_NONLINEAR));
	pr = p[0];
	pw = p[1];
	/* sendfile() from a private file to a private pipe. */
	EXPECT_EQ(4, sendfile(pw, pf, &off, 4));
	/* ioctl(): FIONREAD on the private pipe. */
	EXPECT_EQ(0, ioctl(pr, FIONREAD, &avail));
	EXPECT_EQ(4, avail);
	/* splice() from the private pipe into the private file. */
	off = 20;
	EXPECT_EQ(4, splice(pr, NULL, pf, &off, 4, 0));
	EXPECT_EQ(4, pread(f, buf, 4, 20));
	EXPECT_EQ(0, memcmp(buf, "0123", 4));
	/* F_GETFL: O_NONLINEAR is the descriptor's, not the file's. */
	EXPECT_TRUE(fcntl(pf, F_GETFL) & O_NONLINEAR);
	EXPECT_FALSE(fcntl(f, F_GETFL) & O_NONLINEAR);
	EXPECT_EQ(fcntl(f, F_GETFL), fcntl(pf, F_GETFL) & ~O_NONLINEAR);
	/* select() cannot hold a private descriptor: EBADF. */
	EXPECT_EQ(-1, select(pr + 1, NULL, NULL, NULL, &tv));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(0, select(f + 1, NULL, NULL, NULL, &tv));
	close(pr);
	close(pw);
	close(pf);
	close(f);
}

/* close_range(CLOSE_RANGE_NONLINEAR | CLOSE_RANGE_UNSHARE) from a thread:
 * NULL if the thread's copy lost fd[0] and fd[2]. */
static void *unshare_and_close(void *arg)
{
	long *fd = arg;

	if (syscall(SYS_close_range, fd[0], fd[2],
		    CLOSE_RANGE_NONLINEAR | CLOSE_RANGE_UNSHARE))
		return (void *)1;
	if (fcntl(fd[0], F_GETFD) != -1 || fcntl(fd[2], F_GETFD) != -1)
		return (void *)2;
	return NULL;
}

TEST(close_range_closes_private_fds_only_on_request)
{
	long fd[3], t;
	int i, j, status;
	pthread_t th;
	void *res;
	pid_t child;

	for (i = 0; i < 3; i++) {
		fd[i] = open("/dev/null", O_RDONLY | O_NONLINEAR);
		ASSERT_TRUE(is_private(fd[i]));
	}
	for (i = 0; i < 3; i++)		/* sort: the numbers have no order */
		for (j = i + 1; j < 3; j++)
			if (fd[j] < fd[i]) {
				t = fd[i];
				fd[i] = fd[j];
				fd[j] = t;
			}
	/* The middle one only. */
	EXPECT_EQ(0, syscall(SYS_close_range, fd[1], fd[1], CLOSE_RANGE_NONLINEAR));
	EXPECT_EQ(-1, fcntl(fd[1], F_GETFD));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd[0], F_GETFD));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd[2], F_GETFD));
	/* With CLOSE_RANGE_CLOEXEC nothing changes: they are close-on-exec. */
	EXPECT_EQ(0, syscall(SYS_close_range, 0, ~0U,
			     CLOSE_RANGE_NONLINEAR | CLOSE_RANGE_CLOEXEC));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd[0], F_GETFD));
	EXPECT_EQ(-1, syscall(SYS_close_range, 0, ~0U, 1U << 4));
	EXPECT_EQ(EINVAL, errno);
	/* Everything, in a child with its own (unshared) table. */
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_NONLINEAR | CLOSE_RANGE_UNSHARE))
			_exit(1);
		_exit(fcntl(fd[0], F_GETFD) == -1 && fcntl(fd[2], F_GETFD) == -1 ? 0 : 2);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd[2], F_GETFD));
	/* A thread shares the table: with CLOSE_RANGE_UNSHARE it closes its
	 * own copy only. */
	ASSERT_EQ(0, pthread_create(&th, NULL, unshare_and_close, fd));
	ASSERT_EQ(0, pthread_join(th, &res));
	EXPECT_EQ(NULL, res);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd[0], F_GETFD));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd[2], F_GETFD));
	close(fd[0]);
	close(fd[2]);
}

/* A fork right after closes: the child's free slots are its own empty
 * ones, and it can reopen them all without ever doubling a number. */
TEST(fork_after_closes_reuses_the_freed_slots)
{
	long fd[12], got[12];
	int i, j, status;
	pid_t child;

	for (i = 0; i < 12; i++) {
		fd[i] = open("/dev/null", O_RDONLY | O_NONLINEAR);
		ASSERT_TRUE(is_private(fd[i]));
	}
	for (i = 0; i < 12; i += 2)	/* six holes, spread out */
		ASSERT_EQ(0, close(fd[i]));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/* Six opens fill exactly the six holes ... */
		for (i = 0; i < 6; i++) {
			got[i] = open("/dev/null", O_RDONLY | O_NONLINEAR);
			for (j = 0; j < 12; j += 2)
				if (got[i] == fd[j])
					break;
			if (j == 12)
				_exit(1 + i);
		}
		/* ... and the inherited ones are still there, untouched. */
		for (i = 1; i < 12; i += 2)
			if (fcntl(fd[i], F_GETFD) != FD_CLOEXEC)
				_exit(20);
		/* The next one is new. */
		got[6] = open("/dev/null", O_RDONLY | O_NONLINEAR);
		for (j = 0; j < 12; j++)
			if (got[6] == fd[j])
				_exit(30);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	for (i = 1; i < 12; i += 2)
		close(fd[i]);
}

/* Threads allocating and closing at once, under a small RLIMIT_NOFILE: a
 * leaked slot would end in EMFILE. */
static atomic_int thread_errors;

static void *churn(void *arg)
{
	long fds[4];
	int i, j;

	for (i = 0; i < 5000; i++) {
		for (j = 0; j < 4; j++) {
			fds[j] = sys_fdup(0, 0);
			if (!is_private(fds[j]))
				atomic_fetch_add(&thread_errors, 1);
		}
		for (j = 0; j < 4; j++)
			if (close(fds[j]))
				atomic_fetch_add(&thread_errors, 1);
	}
	return NULL;
}

TEST(threads_allocate_and_close_concurrently)
{
	struct rlimit old, lim = { 64, 64 };
	pthread_t th[4];
	long fds[64];
	int i, n;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, churn, NULL));
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, atomic_load(&thread_errors));
	/* Nothing leaked: the whole limit is still there. */
	for (n = 0; n < 64; n++) {
		fds[n] = sys_fdup(0, 0);
		if (!is_private(fds[n]))
			break;
	}
	EXPECT_EQ(64, n);
	while (n--)
		close(fds[n]);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
}

TEST_HARNESS_MAIN
