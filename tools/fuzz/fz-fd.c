// SPDX-License-Identifier: GPL-2.0
/*
 * The private, non-linear fd space (Documentation/fdspace.md): fdup(),
 * dup2/dup3(fd, NONLINEAR_FD), O_NONLINEAR and the creating calls,
 * close_range() with CLOSE_RANGE_NONLINEAR, SCM_RIGHTS with
 * MSG_CMSG_NONLINEAR, select(), /proc, fork and exec.
 *
 * Every descriptor an iteration makes is non-blocking or (the timerfd)
 * bounded, so no read or write an atom makes on any of them can last
 * forever, whatever number it picks.
 */
#include "fuzz.h"
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

const char *const fd_kind_name[FK_NKINDS] = {
	[FK_NONE] = "none", [FK_PIPE_R] = "pipe-read", [FK_PIPE_W] = "pipe-write",
	[FK_FILE] = "tmpfs-file", [FK_SLOWFILE] = "9p-file", [FK_MEMFD] = "memfd",
	[FK_DEVNULL] = "dev-null", [FK_DEVZERO] = "dev-zero", [FK_SOCK] = "socket",
	[FK_EVENTFD] = "eventfd", [FK_EPOLL] = "epoll", [FK_TIMERFD] = "timerfd",
	[FK_BLKDEV] = "null_blk",
};

int is_private(long fd)
{
	return fd > 0 && fd < 0x80000000L && (fd & NONLINEAR_FD) && fd != NONLINEAR_FD;
}

int fd_add(struct ctx *c, int fd, int kind, int priv)
{
	int ok = 0;

	if (fd < 0)
		return -1;
	pthread_mutex_lock(&c->fd_lock);
	if (c->nfds < FZ_MAX_FDS) {
		c->fds[c->nfds++] = (struct fdent){ fd, kind, priv };
		ok = 1;
	}
	pthread_mutex_unlock(&c->fd_lock);
	if (priv)
		c->has_private = 1;
	if (!ok)
		rsys1(__NR_close, fd);
	return ok ? fd : -1;
}

void fd_forget(struct ctx *c, int fd)
{
	pthread_mutex_lock(&c->fd_lock);
	for (int i = 0; i < c->nfds; i++)
		if (c->fds[i].fd == fd) {
			c->fds[i] = c->fds[--c->nfds];
			break;
		}
	pthread_mutex_unlock(&c->fd_lock);
}

/* A descriptor to use: usually one of ours, sometimes a bad number. */
int pick_fd(struct ctx *c, struct rng *r, int for_read)
{
	static const int bad[] = { -1, 1 << 20, NONLINEAR_FD, NONLINEAR_FD | 0x3fffffff, 0x7fffffff };
	int fd = -1;

	(void)for_read;
	if (chance(r, 8) || !c->nfds)
		return bad[rnd(r, 5)];
	pthread_mutex_lock(&c->fd_lock);
	if (c->nfds)
		fd = c->fds[rnd(r, c->nfds)].fd;
	pthread_mutex_unlock(&c->fd_lock);
	return fd;
}

/* 0, 1 and 2 on /dev/null: a truncated argument list reads fd 0. */
static void std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);

			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

static int new_timerfd(void)
{
	struct itimerspec its = { { 0, 2000000 }, { 0, 2000000 } };
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);

	if (fd >= 0)
		timerfd_settime(fd, 0, &its, NULL);
	return fd;
}

int fds_setup(struct ctx *c)
{
	char path[512];
	int p[2], sv[2], fd;

	std_fds();
	if (pipe2(p, O_NONBLOCK))
		return -1;
	c->nb_pipe[0] = p[0];
	c->nb_pipe[1] = p[1];
	fd_add(c, p[0], FK_PIPE_R, 0);
	fd_add(c, p[1], FK_PIPE_W, 0);
	snprintf(path, sizeof(path), "%s/fz-%d", O.scratch, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		unlink(path);
		if (pwrite(fd, c->data, 65536, 0) != 65536)
			return -1;
		fd_add(c, fd, FK_FILE, 0);
	}
	if (O.slowdir) {
		snprintf(path, sizeof(path), "%s/fz-%d", O.slowdir, getpid());
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			if (pwrite(fd, c->data, 16384, 0) == 16384)
				fd_add(c, fd, FK_SLOWFILE, 0);
			unlink(path);	/* 9p keeps it open through the fid */
		}
	}
	fd = memfd_create("fz", 0);
	if (fd >= 0 && !ftruncate(fd, 65536))
		fd_add(c, fd, FK_MEMFD, 0);
	fd_add(c, open("/dev/null", O_RDWR), FK_DEVNULL, 0);
	fd_add(c, open("/dev/zero", O_RDWR), FK_DEVZERO, 0);
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv)) {
		fd_add(c, sv[0], FK_SOCK, 0);
		fd_add(c, sv[1], FK_SOCK, 0);
	}
	fd_add(c, eventfd(0, EFD_NONBLOCK), FK_EVENTFD, 0);
	fd_add(c, epoll_create1(0), FK_EPOLL, 0);
	c->timerfd = fd_add(c, new_timerfd(), FK_TIMERFD, 0);
	c->blkfd = -1;
	if (c->root) {
		fd = open("/dev/nullb0", O_RDWR);
		if (fd >= 0)
			c->blkfd = fd_add(c, fd, FK_BLKDEV, 0);
	}
	return 0;
}

static int fd_of_kind(struct ctx *c, struct rng *r, int priv_wanted)
{
	int n = 0, pick = -1;

	pthread_mutex_lock(&c->fd_lock);
	for (int i = 0; i < c->nfds; i++)
		if (priv_wanted < 0 || c->fds[i].priv == priv_wanted)
			if (rnd(r, ++n) == 0)
				pick = c->fds[i].fd;
	pthread_mutex_unlock(&c->fd_lock);
	return pick;
}

/* The checks every private descriptor passes. */
static void check_private(struct ctx *c, const char *how, long fd, int src)
{
	struct stat a, b;
	long fdfl, fl;

	check(c);
	if (!is_private(fd)) {
		fail(c, "%s gave %#lx, not a private descriptor", how, fd);
		return;
	}
	fdfl = rsys2(__NR_fcntl, fd, F_GETFD);
	fl = rsys2(__NR_fcntl, fd, F_GETFL);
	count_exec(c, 2);
	if (fdfl != FD_CLOEXEC)
		fail(c, "%s: private fd %#lx has F_GETFD %ld, not FD_CLOEXEC", how, fd, fdfl);
	else if (fl < 0 || !(fl & O_NONLINEAR))
		fail(c, "%s: F_GETFL of private fd %#lx is %#lx, without O_NONLINEAR", how, fd, fl);
	else if (src >= 0 && !fstat(fd, &a) && !fstat(src, &b) &&
		 (a.st_ino != b.st_ino || a.st_dev != b.st_dev))
		fail(c, "%s: private fd %#lx is not the file of fd %d", how, fd, src);
}

void op_fdup(struct ctx *c, struct rng *r)
{
	int src = fd_of_kind(c, r, rnd(r, 3) ? -1 : 1), how = rnd(r, 9);
	long ret, e = 0;
	const char *name = "?";

	if (src < 0)
		return;
	switch (how) {
	case 0: case 1:
		name = "fdup(fd, 0)";
		ret = rsys2(__NR_fdup, src, 0);
		break;
	case 2: {	/* FDUP_MOVE of a copy of ours */
		long tmp = rsys1(__NR_dup, src);

		name = "fdup(fd, FDUP_MOVE)";
		ret = rsys2(__NR_fdup, tmp, FDUP_MOVE);
		check(c);
		if (ret >= 0 && rsys2(__NR_fcntl, tmp, F_GETFD) != -EBADF)
			fail(c, "fdup(%ld, FDUP_MOVE) = %#lx left the old fd open", tmp, ret);
		else if (ret < 0 && tmp >= 0)
			rsys1(__NR_close, tmp);
		break;
	}
	case 3:
		name = "fdup(fd, unknown flag)";
		ret = rsys2(__NR_fdup, src, 2UL << rnd(r, 31));
		e = EINVAL;
		break;
	case 4:
		name = "dup2(fd, NONLINEAR_FD)";
		ret = rsys2(__NR_dup2, src, NONLINEAR_FD);
		break;
	case 5:
		name = "dup3(fd, NONLINEAR_FD, O_CLOEXEC)";
		ret = rsys3(__NR_dup3, src, NONLINEAR_FD, chance(r, 80) ? O_CLOEXEC : 0);
		break;
	case 6: {
		static const long bad[] = { -1, 1 << 20, NONLINEAR_FD, 0x7fffffff };

		name = "fdup(bad fd, 0)";
		src = bad[rnd(r, 4)];
		ret = rsys2(__NR_fdup, src, 0);
		e = EBADF;
		break;
	}
	case 7: {	/* the lowest-free calls stay linear */
		long l = chance(r, 50) ? rsys1(__NR_dup, src) : rsys3(__NR_fcntl, src, F_DUPFD, 0);

		count_exec(c, 1);
		cov_err(c, "dup", l);
		check(c);
		if (l >= 0) {
			long fl = rsys2(__NR_fcntl, l, F_GETFL);

			if (l & NONLINEAR_FD)
				fail(c, "dup/F_DUPFD of %d gave %#lx: the lowest-free calls must stay linear", src, l);
			else if (fl >= 0 && (fl & O_NONLINEAR))
				fail(c, "linear fd %ld (dup of %d) reports O_NONLINEAR in F_GETFL", l, src);
			rsys1(__NR_close, l);
		}
		return;
	}
	default: {	/* F_SETFD cannot clear close-on-exec of a private fd */
		int p = fd_of_kind(c, r, 1);

		if (p < 0)
			return;
		ret = rsys3(__NR_fcntl, p, F_SETFD, 0);
		count_exec(c, 1);
		check(c);
		if (rsys2(__NR_fcntl, p, F_GETFD) != FD_CLOEXEC)
			fail(c, "F_SETFD(0) cleared close-on-exec of private fd %#x (returned %ld)", p, ret);
		cov(c, "fd:setfd-private");
		return;
	}
	}
	count_exec(c, 1);
	cov_err(c, name, ret);
	flog(c, "  %s on %d = %#lx", name, src, ret);
	check(c);
	if (e) {
		if (ret != -e)
			fail(c, "%s of %d = %ld, expected -%s", name, src, ret, errname(e));
		if (ret >= 0)
			rsys1(__NR_close, ret);
		return;
	}
	if (ret == -EMFILE || ret == -ENOMEM)
		return;
	if (ret < 0) {
		if (how != 2)
			fail(c, "%s of our fd %d failed: %ld", name, src, ret);
		return;
	}
	check_private(c, name, ret, how == 2 ? -1 : src);
	fd_add(c, ret, FK_NONE, 1);
}

void op_fd_create(struct ctx *c, struct rng *r)
{
	int nl = chance(r, 80) ? O_NONLINEAR : 0, kind = rnd(r, 9), fds[2] = { -1, -1 }, n = 1;
	const char *name;
	long ret;

	switch (kind) {
	case 0:
		name = "open";
		ret = rsys3(__NR_openat, AT_FDCWD, chance(r, 85) ? "/dev/null" : "/nonexistent",
			    O_RDWR | nl | (chance(r, 50) ? O_CLOEXEC : 0) | (chance(r, 30) ? O_NONBLOCK : 0));
		break;
	case 1: {
		struct { uint64_t flags, mode, resolve; } how = { O_RDONLY | nl, 0, 0 };

		name = "openat2";
		ret = rsys4(437, AT_FDCWD, "/dev/zero", &how, sizeof(how));
		break;
	}
	case 2:
		name = "pipe2";
		ret = rsys2(__NR_pipe2, fds, O_NONBLOCK | nl | (chance(r, 50) ? O_CLOEXEC : 0));
		n = 2;
		break;
	case 3:
		name = "socketpair";
		ret = rsys4(__NR_socketpair, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | nl, 0, fds);
		n = 2;
		break;
	case 4:
		name = "socket";
		ret = rsys3(__NR_socket, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | nl, 0);
		break;
	case 5:
		name = "eventfd2";
		ret = rsys2(__NR_eventfd2, 0, EFD_NONBLOCK | nl);
		break;
	case 6:
		name = "epoll_create1";
		ret = rsys1(__NR_epoll_create1, nl);
		break;
	case 7:
		name = "memfd_create";
		ret = rsys2(__NR_memfd_create, "fz", nl ? MFD_NONLINEAR : 0);
		break;
	default: {	/* accept4 on a listening socket of our own */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), s;
		socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 +
			snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "fz-%d-%d", getpid(), c->op);

		name = "accept4";
		ret = -EBADF;
		if (l < 0)
			break;
		if (!bind(l, (struct sockaddr *)&sa, len) && !listen(l, 1)) {
			s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (s >= 0 && !connect(s, (struct sockaddr *)&sa, len))
				ret = rsys4(__NR_accept4, l, NULL, NULL, SOCK_NONBLOCK | nl);
			if (s >= 0)
				close(s);
		}
		close(l);
		break;
	}
	}
	count_exec(c, 1);
	cov(c, "fd:create:%s%s", name, nl ? "+O_NONLINEAR" : "");
	cov_err(c, name, ret);
	flog(c, "  %s(%s) = %#lx", name, nl ? "O_NONLINEAR" : "linear", ret);
	if (ret < 0)
		return;
	if (n == 1)
		fds[0] = ret;
	for (int i = 0; i < n; i++) {
		check(c);
		if (nl) {
			check_private(c, name, fds[i], -1);
		} else if (fds[i] & NONLINEAR_FD) {
			fail(c, "%s without O_NONLINEAR gave %#x", name, fds[i]);
		}
		fd_add(c, fds[i], kind == 2 ? (i ? FK_PIPE_W : FK_PIPE_R) :
				  kind == 3 || kind == 4 || kind == 8 ? FK_SOCK :
				  kind == 5 ? FK_EVENTFD : kind == 6 ? FK_EPOLL :
				  kind == 7 ? FK_MEMFD : FK_DEVNULL, !!nl);
	}
}

/* Whether fd is open on the sentinel memfd ("/memfd:fz-sentinel ..."). */
static int is_sentinel(int fd)
{
	char path[64], link[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/thread-self/fd/%u", (unsigned int)fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = 0;
	return !strncmp(link, "/memfd:fz-sentinel", 18);
}

/* After close_range(lo, hi, flags) = ret: the sentinel fd (private or not)
 * is closed if the call closes its number, and open otherwise. */
static void check_sentinel(struct ctx *c, long fd, int priv, unsigned int lo, unsigned int hi,
			   unsigned int flags, long ret)
{
	int in = fd >= 0 && (unsigned int)fd >= lo && (unsigned int)fd <= hi;
	int closes = !ret && in && !(flags & CLOSE_RANGE_CLOEXEC) && (!priv || (flags & CLOSE_RANGE_NONLINEAR));
	int open_now;

	if (fd < 0)
		return;		/* EMFILE, ENOMEM: no sentinel this time */
	check(c);
	if (is_private(fd) != priv) {
		fail(c, "memfd_create(%s) gave %#lx", priv ? "MFD_NONLINEAR" : "0", fd);
		rsys1(__NR_close, fd);
		return;
	}
	open_now = is_sentinel(fd);
	if (closes && open_now)
		fail(c, "close_range(%#x, %#x, %#x) left the %s sentinel fd %#lx open",
		     lo, hi, flags, priv ? "private" : "linear", fd);
	else if (!closes && !open_now)
		fail(c, "close_range(%#x, %#x, %#x) = %ld closed the %s sentinel fd %#lx",
		     lo, hi, flags, ret, priv ? "private" : "linear", fd);
	if (open_now)
		rsys1(__NR_close, fd);
	cov(c, "fd:close_range:%s-sentinel:%s", priv ? "private" : "linear", closes ? "closed" : "kept");
}

/*
 * close_range(). A chain or threadlet that went asynchronous may still run
 * (a loop never ends) and open private fds meanwhile: the space hands the
 * slot freed last out first, so a closed number can be open again at once
 * on another file (a linear one as well: dup() takes the lowest free). The
 * check then rests on two sentinels, memfds no chain can reach (made here,
 * their numbers never given to one), one private and one linear: each must
 * be closed if the call closes its number, and stay open if not.
 */
void op_close_range(struct ctx *c, struct rng *r)
{
	static const unsigned int flagsets[] = {
		0, CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_NONLINEAR, CLOSE_RANGE_NONLINEAR | CLOSE_RANGE_CLOEXEC,
		CLOSE_RANGE_UNSHARE, CLOSE_RANGE_NONLINEAR | CLOSE_RANGE_UNSHARE, 1U << 5,
	};
	unsigned int flags = flagsets[rnd(r, 7)], lo, hi;
	struct fdent before[FZ_MAX_FDS];
	int nb, i, k = rnd(r, 4);
	long ret, sentinel, lsentinel;

	if (k == 0) {
		lo = NONLINEAR_FD;
		hi = ~0U;
	} else if (k == 1 && chance(r, 30)) {
		lo = 0;
		hi = ~0U;
		flags |= CLOSE_RANGE_NONLINEAR;	/* everything */
	} else {
		lo = 3 + rnd(r, 60);
		hi = chance(r, 10) ? lo - 1 : lo + rnd(r, 40);	/* lo > hi: -EINVAL */
	}
	if (flags & CLOSE_RANGE_UNSHARE) {
		cov(c, "fd:close_range:unshare");
		c->ident_gen++;	/* a new fd table: detached chains stop */
	}
	pthread_mutex_lock(&c->fd_lock);
	nb = c->nfds;
	memcpy(before, c->fds, sizeof(before));
	pthread_mutex_unlock(&c->fd_lock);
	sentinel = rsys2(__NR_memfd_create, "fz-sentinel", MFD_NONLINEAR);
	lsentinel = rsys2(__NR_memfd_create, "fz-sentinel", 0);
	ret = rsys3(__NR_close_range, lo, hi, flags);
	count_exec(c, 1);
	cov(c, "fd:close_range:flags:%#x", flags);
	cov_err(c, "close_range", ret);
	flog(c, "  close_range(%#x, %#x, %#x) = %ld", lo, hi, flags, ret);
	check(c);
	check_sentinel(c, sentinel, 1, lo, hi, flags, ret);
	check_sentinel(c, lsentinel, 0, lo, hi, flags, ret);
	if (lo > hi || (flags & ~(CLOSE_RANGE_NONLINEAR | CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE))) {
		if (ret != -EINVAL)
			fail(c, "close_range(%#x, %#x, %#x) = %ld, expected -EINVAL", lo, hi, flags, ret);
		return;
	}
	if (ret) {
		fail(c, "close_range(%#x, %#x, %#x) = %ld", lo, hi, flags, ret);
		return;
	}
	if (flags & CLOSE_RANGE_UNSHARE)
		c->files_unshared = 1;
	for (i = 0; i < nb; i++) {
		unsigned int fd = before[i].fd;
		int in = fd >= lo && fd <= hi, closes, open_now;
		long fdfl = rsys2(__NR_fcntl, fd, F_GETFD);

		open_now = fdfl >= 0;
		if (before[i].priv)
			closes = in && (flags & CLOSE_RANGE_NONLINEAR) && !(flags & CLOSE_RANGE_CLOEXEC);
		else
			closes = in && !(flags & CLOSE_RANGE_CLOEXEC);
		check(c);
		if (closes && open_now && c->bg_chains)
			cov(c, "fd:close_range:number-reopened-by-a-running-chain");
		else if (closes && open_now)
			fail(c, "close_range(%#x, %#x, %#x) left %s fd %#x open", lo, hi, flags,
			     before[i].priv ? "private" : "linear", fd);
		else if (!closes && !open_now && !(before[i].kind == FK_NONE && !before[i].priv))
			fail(c, "close_range(%#x, %#x, %#x) closed %s fd %#x", lo, hi, flags,
			     before[i].priv ? "private" : "linear", fd);
		else if (in && !before[i].priv && (flags & CLOSE_RANGE_CLOEXEC) && fdfl != FD_CLOEXEC)
			fail(c, "close_range(CLOEXEC) did not set close-on-exec on fd %u", fd);
		if (!open_now)
			fd_forget(c, fd);
	}
	std_fds();
	if (rsys2(__NR_fcntl, c->timerfd, F_GETFD) < 0)
		c->timerfd = fd_add(c, new_timerfd(), FK_TIMERFD, 0);
	if (rsys2(__NR_fcntl, c->nb_pipe[0], F_GETFD) < 0 && !pipe2(c->nb_pipe, O_NONBLOCK)) {
		fd_add(c, c->nb_pipe[0], FK_PIPE_R, 0);
		fd_add(c, c->nb_pipe[1], FK_PIPE_W, 0);
	}
}
