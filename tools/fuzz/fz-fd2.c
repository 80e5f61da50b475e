// SPDX-License-Identifier: GPL-2.0
/*
 * The private fd space, continued: SCM_RIGHTS, the checks every tracked
 * descriptor must pass at any time (/proc, select, F_GETFD/F_GETFL), and
 * fork and exec.
 */
#include "fuzz.h"
#include <dirent.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>

static int sendfds(int s, const int *fds, int n)
{
	char ctl[CMSG_SPACE(8 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return rsys3(__NR_sendmsg, s, &mh, MSG_DONTWAIT) == 1 ? 0 : -1;
}

void op_scm(struct ctx *c, struct rng *r)
{
	static const int rflags[] = { 0, MSG_CMSG_CLOEXEC, MSG_CMSG_NONLINEAR,
				      MSG_CMSG_NONLINEAR | MSG_CMSG_CLOEXEC };
	int sv[2], n = 1 + rnd(r, 4), room = n, sent[8], i, got;
	int rf = rflags[rnd(r, 4)], ctlkind = PK_VALID;
	char ctlbuf[CMSG_SPACE(8 * sizeof(int))], cbyte;
	struct iovec iov = { .iov_base = &cbyte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	long ret;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv))
		return;
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&c->fd_lock);
		sent[i] = c->nfds ? c->fds[rnd(r, c->nfds)].fd : 0;
		pthread_mutex_unlock(&c->fd_lock);
	}
	if (sendfds(sv[0], sent, n)) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (chance(r, 20))
		room = rnd(r, n);	/* not enough room: MSG_CTRUNC */
	mh.msg_control = ctlbuf;
	/* exactly room descriptors fit (CMSG_SPACE would round up to two) */
	mh.msg_controllen = room < n ? CMSG_LEN(room * sizeof(int)) : CMSG_SPACE(n * sizeof(int));
	if (room == 0)
		mh.msg_controllen = chance(r, 50) ? 0 : sizeof(struct cmsghdr);
	if (chance(r, 8)) {
		ctlkind = pick_bad_kind(r);
		mh.msg_control = ptr_kind(c, r, ctlkind, mh.msg_controllen);
	}
	cov(c, "ptr:msg_control:%s", ptr_kind_name[ctlkind]);
	cov(c, "fd:scm:flags:%s%s", rf & MSG_CMSG_NONLINEAR ? "NONLINEAR" : "linear",
	    rf & MSG_CMSG_CLOEXEC ? "+CLOEXEC" : "");
	ret = rsys3(__NR_recvmsg, sv[1], &mh, rf | MSG_DONTWAIT);
	count_exec(c, 2);
	cov_err(c, "recvmsg", ret);
	flog(c, "  SCM_RIGHTS %d fds, room %d, flags %#x, control %s: %ld, msg_flags %#x", n, room,
	     rf, ptr_kind_name[ctlkind], ret, mh.msg_flags);
	check(c);
	if (ctlkind != PK_VALID) {
		if (ret != -EFAULT && ret != 1 && !(mh.msg_controllen == 0 && ret == 1))
			fail(c, "recvmsg with a %s msg_control returned %ld", ptr_kind_name[ctlkind], ret);
		goto out;
	}
	if (ret != 1) {
		fail(c, "recvmsg of one byte with %d descriptors returned %ld", n, ret);
		goto out;
	}
	if (room < n && !(mh.msg_flags & MSG_CTRUNC))
		fail(c, "recvmsg with room for %d of %d descriptors did not set MSG_CTRUNC", room, n);
	got = 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; i < nfd; i++) {
			int fd;
			struct stat a, b;
			long fdfl, fl;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			fdfl = rsys2(__NR_fcntl, fd, F_GETFD);
			fl = rsys2(__NR_fcntl, fd, F_GETFL);
			check(c);
			if ((rf & MSG_CMSG_NONLINEAR) && !is_private(fd))
				fail(c, "MSG_CMSG_NONLINEAR installed %#x, not a private fd", fd);
			else if (!(rf & MSG_CMSG_NONLINEAR) && (fd & NONLINEAR_FD))
				fail(c, "recvmsg without MSG_CMSG_NONLINEAR installed private fd %#x", fd);
			else if ((rf & MSG_CMSG_NONLINEAR || rf & MSG_CMSG_CLOEXEC) && fdfl != FD_CLOEXEC)
				fail(c, "received fd %#x (flags %#x) is not close-on-exec", fd, rf);
			else if ((rf & MSG_CMSG_NONLINEAR) && (fl < 0 || !(fl & O_NONLINEAR)))
				fail(c, "received private fd %#x: F_GETFL %#lx lacks O_NONLINEAR", fd, fl);
			else if (got < n && !fstat(fd, &a) && !fstat(sent[got], &b) &&
				 (a.st_ino != b.st_ino || a.st_dev != b.st_dev))
				fail(c, "received fd %#x is not the file sent as %d", fd, sent[got]);
			got++;
			close(fd);
		}
	}
	check(c);
	if (got != (room < n ? room : n) && !(room < n && got < room) && !c->rlimit_low)
		fail(c, "recvmsg installed %d descriptors, %d were sent with room for %d", got, n, room);
out:
	close(sv[0]);
	close(sv[1]);
}

/* Lists the numbers in a /proc fd directory or the fdspace file. */
static int proc_numbers(const char *path, long *out, int max, int dir)
{
	int n = 0;

	if (dir) {
		DIR *d = opendir(path);
		struct dirent *e;

		if (!d)
			return -1;
		while ((e = readdir(d)) && n < max)
			if (e->d_name[0] != '.')
				out[n++] = strtol(e->d_name, NULL, 0);
		closedir(d);
	} else {
		FILE *f = fopen(path, "r");
		char line[600];

		if (!f)
			return -1;
		while (fgets(line, sizeof(line), f) && n < max)
			out[n++] = strtol(line, NULL, 0);
		fclose(f);
	}
	return n;
}

void op_fd_check(struct ctx *c, struct rng *r)
{
	static unsigned char sets[3][1 << 17];	/* room for any nfds the kernel may clamp to */
	struct fdent fds[FZ_MAX_FDS];
	long listed[512];
	int n, i, k;

	pthread_mutex_lock(&c->fd_lock);
	n = c->nfds;
	memcpy(fds, c->fds, sizeof(fds));
	pthread_mutex_unlock(&c->fd_lock);
	for (i = 0; i < n; i++) {
		long fdfl = rsys2(__NR_fcntl, fds[i].fd, F_GETFD), fl = rsys2(__NR_fcntl, fds[i].fd, F_GETFL);

		count_exec(c, 2);
		check(c);
		if (fdfl < 0) {
			fail(c, "tracked %s fd %#x (%s) is gone: %s", fds[i].priv ? "private" : "linear",
			     fds[i].fd, fd_kind_name[fds[i].kind], errname(-fdfl));
			fd_forget(c, fds[i].fd);
		} else if (fds[i].priv && (fdfl != FD_CLOEXEC || !(fl & O_NONLINEAR))) {
			fail(c, "private fd %#x: F_GETFD %ld F_GETFL %#lx", fds[i].fd, fdfl, fl);
		} else if (!fds[i].priv && (fl & O_NONLINEAR)) {
			fail(c, "linear fd %d reports O_NONLINEAR", fds[i].fd);
		}
	}
	cov(c, "fd:checked-tracked");
	/* /proc/self/fd never lists a private one; /proc/self/fdspace lists them.
	 * (Both show the thread group leader's table: not ours once this
	 * thread has its own, after CLOSE_RANGE_UNSHARE.) */
	k = c->files_unshared ? -1 : proc_numbers("/proc/self/fd", listed, 512, 1);
	for (i = 0; i < k; i++) {
		check(c);
		if (listed[i] & NONLINEAR_FD)
			fail(c, "/proc/self/fd lists private fd %#lx", listed[i]);
	}
	k = c->files_unshared ? -1 : proc_numbers("/proc/self/fdspace", listed, 512, 0);
	if (k >= 0) {
		cov(c, "fd:proc-fdspace");
		for (i = 0; i < n; i++) {
			int j;

			if (!fds[i].priv || rsys2(__NR_fcntl, fds[i].fd, F_GETFD) < 0)
				continue;
			for (j = 0; j < k && listed[j] != fds[i].fd; j++)
				;
			check(c);
			if (j == k && k < 512)
				fail(c, "/proc/self/fdspace does not list private fd %#x", fds[i].fd);
		}
	}
	/* select() cannot represent a private fd: with one open, nfds above
	 * NONLINEAR_FD is EBADF (without any, the stock clamp). */
	for (i = 0, k = 0; i < n && !k; i++)
		k = fds[i].priv && rsys2(__NR_fcntl, fds[i].fd, F_GETFD) >= 0;
	if (chance(r, 50)) {
		struct timeval tv = { 0, 0 };
		long ret;

		memset(sets, 0, sizeof(sets));
		ret = rsys5(__NR_select, NONLINEAR_FD + 1 + rnd(r, 3), sets[0], sets[1], sets[2], &tv);
		count_exec(c, 1);
		cov_err(c, k ? "select-private-open" : "select", ret);
		check(c);
		if (k && ret != -EBADF && ret != -ENOMEM)
			fail(c, "select(nfds > NONLINEAR_FD) with private fds open = %ld, expected -EBADF", ret);
	}
}

/* fork: the child sees every private fd with the same number and file. */
void op_fd_fork(struct ctx *c, struct rng *r)
{
	struct fdent fds[FZ_MAX_FDS];
	ino_t ino[FZ_MAX_FDS];
	int n, i, status;
	pid_t pid;
	struct stat st;

	pthread_mutex_lock(&c->fd_lock);
	n = c->nfds;
	memcpy(fds, c->fds, sizeof(fds));
	pthread_mutex_unlock(&c->fd_lock);
	for (i = 0; i < n; i++)
		ino[i] = fstat(fds[i].fd, &st) ? 0 : st.st_ino;
	pid = fork();
	count_exec(c, 1);
	if (pid < 0)
		return;
	if (pid == 0) {
		c->forked_child = 1;
		c->pid = getpid();
		alarm(O.hang_secs);
		for (i = 0; i < n; i++) {
			if (!fds[i].priv || !ino[i])
				continue;
			if (fstat(fds[i].fd, &st) || st.st_ino != ino[i]) {
				fail(c, "fork: private fd %#x is not inherited (or not the same file)", fds[i].fd);
				_exit(FZ_EXIT_VIOLATION);
			}
			if (rsys2(__NR_fcntl, fds[i].fd, F_GETFD) != FD_CLOEXEC) {
				fail(c, "fork: inherited private fd %#x is not close-on-exec", fds[i].fd);
				_exit(FZ_EXIT_VIOLATION);
			}
			if (chance(r, 30))
				close(fds[i].fd);	/* the parent's stays */
		}
		/* New private fds in the child (reusing the freed slots). */
		for (i = 0; i < 4; i++) {
			long fd = rsys2(__NR_fdup, 0, 0);

			if (!is_private(fd) && fd != -EMFILE) {
				fail(c, "fork child: fdup(0, 0) = %#lx", fd);
				_exit(FZ_EXIT_VIOLATION);
			}
		}
		_exit(0);
	}
	cov(c, "fd:fork");
	flog(c, "  fork: child %d checks %d inherited fds", pid, n);
	if (spawn_wait(c, pid, O.hang_secs, &status))
		return;
	check(c);
	if (!WIFEXITED(status) || (WEXITSTATUS(status) && WEXITSTATUS(status) != FZ_EXIT_VIOLATION))
		fail(c, "fork child checking fds ended with status %#x", status);
	/* The parent's are all still there. */
	for (i = 0; i < n; i++) {
		check(c);
		if (ino[i] && (fstat(fds[i].fd, &st) || st.st_ino != ino[i]))
			fail(c, "after a fork child closed its copies, our fd %#x is gone", fds[i].fd);
	}
}

/* exec: the private space is gone in the new program; linear fds without
 * FD_CLOEXEC stay. The child may have chains or a threadlet going. */
void op_fd_exec(struct ctx *c, struct rng *r)
{
	struct fdent fds[FZ_MAX_FDS];
	char *argv[FZ_MAX_FDS + 4], bufs[FZ_MAX_FDS][24];
	int n, i, na = 0, status, inflight = chance(r, 50);
	pid_t pid;

	pthread_mutex_lock(&c->fd_lock);
	n = c->nfds;
	memcpy(fds, c->fds, sizeof(fds));
	pthread_mutex_unlock(&c->fd_lock);
	argv[na++] = "syslet-fuzz";
	argv[na++] = "--exec-probe";
	for (i = 0; i < n; i++) {
		long fl = rsys2(__NR_fcntl, fds[i].fd, F_GETFD);

		if (fl < 0 || (!fds[i].priv && fl))
			continue;
		snprintf(bufs[i], sizeof(bufs[i]), "%c%d", fds[i].priv ? 'p' : 'l', fds[i].fd);
		argv[na++] = bufs[i];
	}
	argv[na] = NULL;
	pid = fork();
	count_exec(c, 1);
	if (pid < 0)
		return;
	if (pid == 0) {
		c->forked_child = 1;
		c->pid = getpid();
		chains_forget(c);
		alarm(O.hang_secs);
		if (inflight)	/* chains in flight across the exec */
			for (i = 0; i < 3; i++)
				run_simple_chain(c, r, 0);
		execv(O.self_exe, argv);
		_exit(127);
	}
	cov(c, inflight ? "fd:exec:chains-in-flight" : "fd:exec");
	flog(c, "  exec: child %d probes %d fds%s", pid, na - 2, inflight ? ", chains in flight" : "");
	if (spawn_wait(c, pid, O.hang_secs, &status))
		return;
	check(c);
	if (WIFEXITED(status) && WEXITSTATUS(status) == FZ_EXIT_PROBE_BAD)
		fail(c, "after execve a private fd was still open (or a linear one was closed)");
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail(c, "exec probe child ended with status %#x", status);
}

/* syslet-fuzz --exec-probe [pFD|lFD]...: private ones must be closed,
 * linear ones open. */
int exec_probe_main(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		int fd = atoi(argv[i] + 1);
		int open_now = fcntl(fd, F_GETFD) >= 0;

		if (argv[i][0] == 'p' && open_now) {
			fprintf(stderr, "exec-probe: private fd %#x survived execve\n", fd);
			return FZ_EXIT_PROBE_BAD;
		}
		if (argv[i][0] == 'l' && !open_now) {
			fprintf(stderr, "exec-probe: linear fd %d was closed by execve\n", fd);
			return FZ_EXIT_PROBE_BAD;
		}
	}
	return 0;
}
