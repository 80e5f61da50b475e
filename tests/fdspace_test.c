// SPDX-License-Identifier: GPL-2.0
/*
 * The private, non-linear fd space (fdspace/, Documentation/fdspace.md):
 * fdup() and dup2(fd, NONLINEAR_FD), what private fds work with, where
 * they never show up, fork/exec/close_range, RLIMIT_NOFILE (shared by
 * both spaces), select(), io_uring, /proc/<pid>/fdspace, bad input, and
 * threads allocating and closing at once.
 *
 * Not here: iterate_fd() over private descriptors. Its callers are
 * __do_SAK() (needs a VT; the test kernel has CONFIG_VT=n), the
 * net_cls/netprio cgroups (CONFIG_CGROUP_NET_CLASSID/PRIO=n) and the
 * SELinux/AppArmor file flush at exec (which runs after exec has closed
 * every private descriptor): no user-space test of them could fail. The
 * KUnit suite "fdspace" (fdspace/fdspace_kunit.c) calls iterate_fd()
 * directly.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "syslet_test.h"
#include <linux/fdspace.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>

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

/* Open linear descriptors: the size /proc/self/fd reports (no
 * descriptor needed to ask, so it works at the limit too). */
static int linear_open(void)
{
	struct stat st;

	return stat("/proc/self/fd", &st) ? -1 : (int)st.st_size;
}

/*
 * Sets the soft RLIMIT_NOFILE to what is open now plus room, so that
 * exactly room more descriptors fit (linear and private ones share the
 * limit); *old gets the limit to restore. The hard limit stays, so the
 * restore works without privilege.
 */
static int set_nofile_room(struct rlimit *old, int room)
{
	struct rlimit lim;
	int linear = linear_open();

	if (linear < 0 || getrlimit(RLIMIT_NOFILE, old))
		return -1;
	lim = *old;
	lim.rlim_cur = linear + room;
	if (lim.rlim_cur > lim.rlim_max)
		return -1;
	return setrlimit(RLIMIT_NOFILE, &lim);
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
	struct rlimit old, lim;
	long fds[32];
	int n = 0, i, linear = linear_open();

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	ASSERT_LT(linear, 16);
	lim = old;
	lim.rlim_cur = 16;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	for (i = 0; i < 32; i++) {
		fds[n] = sys_fdup(0, 0);
		if (fds[n] < 0)
			break;
		n++;
	}
	EXPECT_EQ(EMFILE, errno);
	/* What the linear descriptors leave of the limit. */
	EXPECT_EQ(16 - linear, n);
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
	struct rlimit old;
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
	/*
	 * O_PATH keeps O_NONLINEAR, from all three open calls (open() and
	 * openat() dropped it, openat2() refused it with EINVAL).
	 */
	fd = open("/dev/null", O_PATH | O_NONLINEAR);
	EXPECT_TRUE(is_private(fd)) TH_LOG("open(O_PATH): %#x", fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	close(fd);
	fd = openat(AT_FDCWD, "/dev/null", O_PATH | O_NONLINEAR);
	EXPECT_TRUE(is_private(fd)) TH_LOG("openat(O_PATH): %#x", fd);
	close(fd);
	{
		struct open_how how = { .flags = O_PATH | O_NONLINEAR };

		fd = syscall(__NR_openat2, AT_FDCWD, "/dev/null", &how, sizeof(how));
		EXPECT_TRUE(is_private(fd)) TH_LOG("openat2(O_PATH): %#x, errno %d", fd, errno);
		close(fd);
	}
	/* Failed opens give their reserved descriptor back. */
	ASSERT_EQ(0, set_nofile_room(&old, 4));
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
	struct rlimit old;
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
	ASSERT_EQ(0, set_nofile_room(&old, 4));
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
	struct rlimit old;
	pthread_t th[4];
	long fds[64];
	int i, n;

	ASSERT_EQ(0, set_nofile_room(&old, 64));
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

/* The highest free linear number below lim, or -1. */
static int free_below(int lim)
{
	while (--lim >= 0)
		if (fcntl(lim, F_GETFD) == -1)
			return lim;
	return -1;
}

/* Opens /dev/null (linear) until it fails: how many opened (into fds). */
static int open_linear_until_full(int *fds, int max)
{
	int n;

	for (n = 0; n < max; n++) {
		fds[n] = open("/dev/null", O_RDONLY);
		if (fds[n] < 0)
			break;
	}
	return n;
}

/*
 * RLIMIT_NOFILE bounds linear and private descriptors together: with 16,
 * never 16 of each (the hostile run held 31). Private ones fill what the
 * linear ones leave, and then no linear call finds room either, even
 * with free numbers below the limit.
 */
TEST(rlimit_nofile_bounds_linear_and_private_together)
{
	struct rlimit old, lim;
	int a, b, p[2], fd, status, linear, n, hole;
	long priv[32];
	pid_t child;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	a = open("/dev/null", O_RDONLY);
	b = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	linear = linear_open();
	ASSERT_LT(linear, 12);
	lim = old;
	lim.rlim_cur = 16;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	n = open_private_until_full(priv, 32);
	EXPECT_EQ(EMFILE, errno);
	ASSERT_EQ(16 - linear, n);
	EXPECT_EQ(-1, sys_fdup(0, 0));
	EXPECT_EQ(EMFILE, errno);
	/* Full: every way to a new linear descriptor says EMFILE. */
	EXPECT_EQ(-1, open("/dev/null", O_RDONLY));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, dup(0));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, fcntl(0, F_DUPFD, 0));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, pipe(p));
	EXPECT_EQ(EMFILE, errno);
	hole = free_below(16);		/* a free number below the limit */
	ASSERT_LE(0, hole);
	EXPECT_EQ(-1, dup2(0, hole));
	EXPECT_EQ(EMFILE, errno);
	/* dup2() over an open descriptor makes none: allowed. */
	EXPECT_EQ(b, dup2(a, b));
	/* The count is what it was. */
	EXPECT_EQ(linear, linear_open());
	/* A fork inherits a full table: nothing fits in the child either. */
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (open("/dev/null", O_RDONLY) != -1 || errno != EMFILE)
			_exit(1);
		if (sys_fdup(0, 0) != -1 || errno != EMFILE)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
	/* A closed private descriptor makes room for one linear one ... */
	EXPECT_EQ(0, close(priv[--n]));
	fd = open("/dev/null", O_RDONLY);
	EXPECT_LE(0, fd);
	EXPECT_LT(fd, 16);
	EXPECT_EQ(-1, open("/dev/null", O_RDONLY));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, open("/dev/null", O_RDONLY | O_NONLINEAR));
	EXPECT_EQ(EMFILE, errno);
	/* ... and a closed linear one for one private one. */
	EXPECT_EQ(0, close(fd));
	priv[n] = sys_fdup(0, 0);
	EXPECT_TRUE(is_private(priv[n]));
	n++;
	EXPECT_EQ(-1, sys_fdup(0, 0));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, dup(0));
	EXPECT_EQ(EMFILE, errno);
	while (n--)
		close(priv[n]);
	/* All private ones closed: the linear space has the limit again. */
	fd = dup(0);
	EXPECT_LE(0, fd);
	close(fd);
	close(a);
	close(b);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
}

/* The other way round: linear descriptors fill the limit, and private
 * ones find no room. */
TEST(rlimit_nofile_linear_descriptors_leave_no_room)
{
	struct rlimit old, lim;
	int lin[32], m, linear, fd;
	long p0, moved;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	p0 = sys_fdup(0, 0);
	ASSERT_TRUE(is_private(p0));
	linear = linear_open();
	ASSERT_LT(linear, 12);
	lim = old;
	lim.rlim_cur = 16;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	/* One private descriptor: one linear one less, though a number
	 * below the limit stays free. */
	m = open_linear_until_full(lin, 32);
	EXPECT_EQ(EMFILE, errno);
	ASSERT_EQ(16 - linear - 1, m);
	EXPECT_LE(0, free_below(16));
	EXPECT_EQ(-1, sys_fdup(0, 0));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, open("/dev/null", O_RDONLY | O_NONLINEAR));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, memfd_create("full", MFD_NONLINEAR));
	EXPECT_EQ(EMFILE, errno);
	/* Closing the private one gives the room to the linear space. */
	EXPECT_EQ(0, close(p0));
	fd = open("/dev/null", O_RDONLY);
	EXPECT_LE(0, fd);
	EXPECT_LT(fd, 16);
	EXPECT_EQ(-1, open("/dev/null", O_RDONLY));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, sys_fdup(0, 0));
	EXPECT_EQ(EMFILE, errno);
	/* Full, a move to the private space still works: it opens none. */
	moved = sys_fdup(fd, FDUP_MOVE);
	EXPECT_TRUE(is_private(moved)) TH_LOG("moved: %ld", moved);
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, open("/dev/null", O_RDONLY));
	EXPECT_EQ(EMFILE, errno);
	EXPECT_EQ(-1, sys_fdup(0, 0));
	EXPECT_EQ(EMFILE, errno);
	close(moved);
	while (m--)
		close(lin[m]);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
}

/*
 * select() with a huge nfds: a process with no private descriptor gets
 * the stock clamp (0 here: no sets, no wait), one with private
 * descriptors open EBADF (an fd_set cannot hold them).
 */
TEST(select_clamps_nfds_unless_private_fds_are_open)
{
	struct timeval tv = { 0, 0 };
	struct timespec ts = { 0, 0 };
	long fd;

	EXPECT_EQ(0, select(INT_MAX, NULL, NULL, NULL, &tv));
	EXPECT_EQ(0, select(NONLINEAR_FD + 2, NULL, NULL, NULL, &tv));
	EXPECT_EQ(0, pselect(INT_MAX, NULL, NULL, NULL, &ts, NULL));
	fd = sys_fdup(0, 0);
	ASSERT_TRUE(is_private(fd));
	tv = (struct timeval){ 0, 0 };
	EXPECT_EQ(-1, select(INT_MAX, NULL, NULL, NULL, &tv));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, pselect(NONLINEAR_FD + 2, NULL, NULL, NULL, &ts, NULL));
	EXPECT_EQ(EBADF, errno);
	tv = (struct timeval){ 0, 0 };
	EXPECT_EQ(0, select(FD_SETSIZE, NULL, NULL, NULL, &tv));
	/* All closed again (the space stays): the clamp again. */
	EXPECT_EQ(0, close(fd));
	tv = (struct timeval){ 0, 0 };
	EXPECT_EQ(0, select(INT_MAX, NULL, NULL, NULL, &tv));
}

/* A minimal io_uring through the raw system calls (no liburing). */
struct ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r)
{
	struct io_uring_params p = { 0 };
	size_t sq_len, cq_len;
	char *sq, *cq;

	r->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -1;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  r->fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submits sqe and waits for it: the completion's res (a -errno on
 * failure), or INT_MIN if io_uring_enter() itself failed. */
static int ring_run(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	int res;

	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0)
		return INT_MIN;
	head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return INT_MIN;
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static struct io_uring_sqe openat_sqe(const char *path, int flags, int mode)
{
	return (struct io_uring_sqe){
		.opcode = IORING_OP_OPENAT, .fd = AT_FDCWD,
		.addr = (uintptr_t)path, .len = mode, .open_flags = flags,
	};
}

/*
 * io_uring's ways to a new descriptor take O_NONLINEAR as their system
 * calls do (openat, openat2, socket, accept); with a direct descriptor
 * (file_index), which has no number, it is EINVAL, like O_CLOEXEC.
 */
TEST(io_uring_o_nonlinear_gives_private_fds)
{
	char path[] = "/tmp/fdspace-uring-XXXXXX", c = 0;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct open_how how = { .flags = O_RDONLY | O_NONLINEAR };
	struct io_uring_sqe sqe;
	struct rlimit old;
	struct ring r;
	int fd, lfd, cfd, tmp;
	socklen_t len;

	if (ring_init(&r))
		SKIP(return, "io_uring unavailable: %s", strerror(errno));
	/* openat: private, close-on-exec, O_NONLINEAR in F_GETFL. */
	sqe = openat_sqe("/dev/null", O_RDONLY | O_NONLINEAR, 0);
	fd = ring_run(&r, &sqe);
	EXPECT_TRUE(is_private(fd)) TH_LOG("openat: %d", fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONLINEAR);
	close(fd);
	/* Without the flag: linear, as before. */
	sqe = openat_sqe("/dev/null", O_RDONLY, 0);
	fd = ring_run(&r, &sqe);
	EXPECT_LE(0, fd);
	EXPECT_FALSE(fd & NONLINEAR_FD);
	close(fd);
	/* O_CREAT goes to an io-wq worker: private there too. */
	tmp = mkstemp(path);
	ASSERT_LE(0, tmp);
	close(tmp);
	sqe = openat_sqe(path, O_RDWR | O_CREAT | O_NONLINEAR, 0600);
	fd = ring_run(&r, &sqe);
	unlink(path);
	EXPECT_TRUE(is_private(fd)) TH_LOG("openat O_CREAT: %d", fd);
	EXPECT_EQ(1, pwrite(fd, "w", 1, 0));
	EXPECT_EQ(1, pread(fd, &c, 1, 0));
	EXPECT_EQ('w', c);
	close(fd);
	/* openat2. */
	sqe = (struct io_uring_sqe){
		.opcode = IORING_OP_OPENAT2, .fd = AT_FDCWD,
		.addr = (uintptr_t)"/dev/null", .addr2 = (uintptr_t)&how,
		.len = sizeof(how),
	};
	fd = ring_run(&r, &sqe);
	EXPECT_TRUE(is_private(fd)) TH_LOG("openat2: %d", fd);
	close(fd);
	/* socket. */
	sqe = (struct io_uring_sqe){
		.opcode = IORING_OP_SOCKET, .fd = AF_UNIX,
		.off = SOCK_STREAM | O_NONLINEAR,
	};
	lfd = ring_run(&r, &sqe);
	ASSERT_TRUE(is_private(lfd)) TH_LOG("socket: %d", lfd);
	/* accept, on that private listening socket. */
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "fdspace-%d", getpid());
	len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sun.sun_path + 1);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sun, len));
	ASSERT_EQ(0, listen(lfd, 1));
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(cfd, (struct sockaddr *)&sun, len));
	sqe = (struct io_uring_sqe){
		.opcode = IORING_OP_ACCEPT, .fd = lfd, .accept_flags = O_NONLINEAR,
	};
	fd = ring_run(&r, &sqe);
	EXPECT_TRUE(is_private(fd)) TH_LOG("accept: %d", fd);
	EXPECT_EQ(1, write(cfd, "a", 1));
	EXPECT_EQ(1, read(fd, &c, 1));
	EXPECT_EQ('a', c);
	close(fd);
	close(cfd);
	close(lfd);
	/* A direct descriptor cannot be private. */
	sqe = openat_sqe("/dev/null", O_RDONLY | O_NONLINEAR, 0);
	sqe.file_index = 1;
	EXPECT_EQ(-EINVAL, ring_run(&r, &sqe));
	sqe = (struct io_uring_sqe){
		.opcode = IORING_OP_SOCKET, .fd = AF_UNIX,
		.off = SOCK_STREAM | O_NONLINEAR, .file_index = 1,
	};
	EXPECT_EQ(-EINVAL, ring_run(&r, &sqe));
	/* RLIMIT_NOFILE, shared with the linear space, holds here too. */
	ASSERT_EQ(0, set_nofile_room(&old, 1));
	sqe = openat_sqe("/dev/null", O_RDONLY | O_NONLINEAR, 0);
	fd = ring_run(&r, &sqe);
	EXPECT_TRUE(is_private(fd));
	EXPECT_EQ(-EMFILE, ring_run(&r, &sqe));
	sqe = openat_sqe("/dev/null", O_RDONLY, 0);
	EXPECT_EQ(-EMFILE, ring_run(&r, &sqe));
	close(fd);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	close(r.fd);
}

/* Does /proc/<pid>/fdspace, read through f from the start, list fd? */
static int fdspace_lists(int f, long fd)
{
	char buf[4096], *line;
	ssize_t n;

	if (lseek(f, 0, SEEK_SET) != 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	for (line = buf; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (atol(line) == fd)
			return 1;
	}
	return 0;
}

static int become_nobody(void)
{
	return setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	       setresuid(65534, 65534, 65534) || prctl(PR_SET_DUMPABLE, 1);
}

/*
 * /proc/<pid>/fdspace takes ptrace read access, checked with the
 * credentials of whoever opened it: another user cannot open it, the
 * opener loses it when the task turns undumpable (as after a setuid
 * exec), and handing the open file to root does not get it back.
 */
TEST(proc_fdspace_needs_ptrace_read_access)
{
	int go[2], ready[2], sv[2], status, f, r;
	char path[64], c;
	pid_t target, reader;
	long fd;

	if (geteuid() != 0)
		SKIP(return, "needs root to run the processes as another user");
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	target = fork();
	ASSERT_LE(0, target);
	if (!target) {
		/* nobody, dumpable, with a private descriptor. */
		if (become_nobody())
			_exit(1);
		fd = open("/dev/null", O_RDONLY | O_NONLINEAR);
		if (write(ready[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(2);
		/* 'u': turn undumpable; then wait for the end. */
		if (read(go[0], &c, 1) != 1 || c != 'u')
			_exit(3);
		prctl(PR_SET_DUMPABLE, 0);
		if (write(ready[1], "k", 1) != 1)
			_exit(4);
		read(go[0], &c, 1);
		_exit(0);
	}
	ASSERT_EQ(sizeof(fd), read(ready[0], &fd, sizeof(fd)));
	ASSERT_TRUE(is_private(fd));
	snprintf(path, sizeof(path), "/proc/%d/fdspace", target);
	reader = fork();
	ASSERT_LE(0, reader);
	if (!reader) {
		/* The same user: may read it while the target is dumpable. */
		if (become_nobody())
			_exit(10);
		f = open(path, O_RDONLY);
		if (f < 0)
			_exit(11);
		if (fdspace_lists(f, fd) != 1)
			_exit(12);
		if (write(go[1], "u", 1) != 1 || read(ready[0], &c, 1) != 1)
			_exit(13);
		/* Undumpable now: neither reading again nor opening anew. */
		if (fdspace_lists(f, fd) != -1 || errno != EACCES)
			_exit(14);
		if (open(path, O_RDONLY) != -1 || errno != EACCES)
			_exit(15);
		/* Root, reading the file nobody opened, gets no more. */
		if (send_fd(sv[0], f))
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(reader, waitpid(reader, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("reader: status %#x", status);
	f = recv_fd(sv[1], MSG_DONTWAIT, &r);
	EXPECT_LE(0, f);
	if (f >= 0) {
		EXPECT_EQ(-1, fdspace_lists(f, fd));
		EXPECT_EQ(EACCES, errno);
		close(f);
	}
	/* Root, opening it itself, may (CAP_SYS_PTRACE). */
	f = open(path, O_RDONLY);
	EXPECT_LE(0, f);
	EXPECT_EQ(1, fdspace_lists(f, fd));
	close(f);
	EXPECT_EQ(1, write(go[1], "q", 1));
	ASSERT_EQ(target, waitpid(target, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("target: status %#x", status);
}

/*
 * /proc/<pid>/fdspace lists a large, sparse private table whole, across
 * chunks (512 slots) and listing batches (32 descriptors), and nothing
 * that was closed.
 */
TEST(proc_fdspace_lists_a_sparse_table)
{
	enum { N = 1200 };
	static long fds[N];
	static char buf[1 << 16];
	struct rlimit old;
	int i, kept = 0, listed = 0, bad = 0, f;
	ssize_t n, got = 0;
	char *line;

	if (set_nofile_room(&old, N + 8))
		SKIP(return, "RLIMIT_NOFILE hard limit below %d", N + 8);
	for (i = 0; i < N; i++) {
		fds[i] = sys_fdup(0, 0);
		ASSERT_TRUE(is_private(fds[i])) TH_LOG("fd %d: %ld", i, fds[i]);
	}
	/* Keep every 37th, and 50 in a row in the third chunk. */
	for (i = 0; i < N; i++) {
		if (i % 37 == 0 || (i >= 1100 && i < 1150))
			kept++;
		else
			ASSERT_EQ(0, close(fds[i]));
	}
	f = open("/proc/self/fdspace", O_RDONLY);
	ASSERT_LE(0, f);
	while ((n = read(f, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	close(f);
	buf[got] = 0;
	for (line = buf; *line; line = strchr(line, '\n') + 1) {
		long fd = atol(line);

		for (i = 0; i < N; i++)
			if (fds[i] == fd)
				break;
		if (i == N || !(i % 37 == 0 || (i >= 1100 && i < 1150)))
			bad++;
		listed++;
		if (!strchr(line, '\n'))
			break;
	}
	EXPECT_EQ(kept, listed);
	EXPECT_EQ(0, bad);
	for (i = 0; i < N; i++)
		if (i % 37 == 0 || (i >= 1100 && i < 1150))
			close(fds[i]);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
}

TEST_HARNESS_MAIN
