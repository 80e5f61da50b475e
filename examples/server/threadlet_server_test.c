// SPDX-License-Identifier: GPL-2.0
/*
 * The threadlet file server in the guest, in its three shapes
 * (threadlets, a thread pool, io_uring): 1 and 16
 * clients get exactly their files; a handler runs inline when nothing
 * blocks and asynchronously only when it blocks; bad requests get an
 * error answer; clients that leave mid-request are counted and do not
 * hurt the server; the server stops with every thread it made gone
 * (/proc/self/task); the command line's answers and errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslet.h>

#include "kselftest_harness.h"
#include "client.h"
#include "server.h"
#include "threadlet_server.h"

#define SIZE 16384
#define BIG (8 << 20)
#define IDLE_FILE "/proc/sys/kernel/syslet_idle_msecs"

static const enum srv_mode modes[] = { SRV_THREADLET, SRV_THREADS, SRV_URING };
#define NMODES 3

static int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

FIXTURE(srv)
{
	char dir[64], sock[96];
	char resp[SIZE + 256];
	char idle[32];
};

FIXTURE_SETUP(srv)
{
	char path[128];
	char *big = malloc(BIG);
	int fd;

	strcpy(self->dir, "/tmp/srv-test-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/sock", self->dir);
	ASSERT_EQ(0, srv_populate(self->dir, 16, SIZE));
	ASSERT_NE(NULL, big);
	memset(big, 'b', BIG);
	snprintf(path, sizeof(path), "%s/big", self->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	ASSERT_EQ(BIG, write(fd, big, BIG));
	close(fd);
	free(big);
	/* Spare threads idle out quickly (restored below). */
	fd = open(IDLE_FILE, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG(IDLE_FILE ": %s", strerror(errno));
	ASSERT_LT(0, read(fd, self->idle, sizeof(self->idle) - 1));
	ASSERT_EQ(3, pwrite(fd, "50\n", 3, 0));
	close(fd);
}

FIXTURE_TEARDOWN(srv)
{
	char cmd[128];
	int fd = open(IDLE_FILE, O_WRONLY);

	if (fd >= 0 && write(fd, self->idle, strlen(self->idle)) < 0)
		TH_LOG("could not restore " IDLE_FILE);
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

static struct server *start(struct __test_metadata *_metadata, FIXTURE_DATA(srv) *self,
			    enum srv_mode mode, unsigned int slots)
{
	struct srv_config cfg = { mode, self->dir, self->sock, slots };
	struct server *s = NULL;

	EXPECT_EQ(0, srv_start(&cfg, &s));
	return s;
}

TEST_F(srv, one_and_sixteen_clients_get_exactly_their_files)
{
	for (int m = 0; m < NMODES; m++)
		for (unsigned int n = 1; n <= 16; n += 15) {
			struct load_config load = { self->sock, n, 25, 16, SIZE, 0 };
			struct load_stats ls;
			struct srv_stats ss;
			struct server *s = start(_metadata, self, modes[m], 16);

			ASSERT_NE(NULL, s);
			ASSERT_EQ(0, load_run(&load, &ls)) TH_LOG("%s", ls.first_error);
			ASSERT_EQ(0, srv_stop(s, &ss));
			ASSERT_EQ(n * 25, ls.ok);
			ASSERT_EQ(0, ls.failed);
			ASSERT_EQ(n * 25UL * SIZE, ls.bytes);
			ASSERT_EQ(n * 25, ss.status[SRV_OK]);
			ASSERT_EQ(n * 25UL * SIZE, ss.bytes);
			for (int st = SRV_BAD_REQUEST; st < SRV_NSTATUS; st++) {
				ASSERT_EQ(0, ss.status[st]) TH_LOG("status %d", st);
			}
			ASSERT_EQ(0, ss.loop_error);
			if (modes[m] == SRV_THREADLET) {
				ASSERT_EQ(n * 25, ss.inline_runs + ss.async_runs);
			} else {
				ASSERT_EQ(0, ss.inline_runs + ss.async_runs);
			}
		}
}

/* The handler as a threadlet over a socket pair, without the server. */
TEST_F(srv, a_handler_is_inline_unless_it_blocks)
{
	static char stack[32768] __attribute__((aligned(16)));
	struct timespec five_s = { 5, 0 };
	static struct srv_conn c;
	struct syslet_threadlet t;
	int sv[2], dirfd;
	long n;

	dirfd = open(self->dir, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, dirfd);
	memset(stack, 0, sizeof(stack));
	for (int late = 0; late < 2; late++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
		c.sock = sv[0];
		c.dirfd = dirfd;
		if (!late)
			ASSERT_EQ(7, write(sv[1], "GET f3\n", 7));
		n = syslet_threadlet_start(&t, (long (*)(void *))srv_serve, &c, stack,
					   sizeof(stack));
		if (!late) {
			/* The request was there and the answer fits the
			 * socket: it never blocked. */
			ASSERT_EQ(THREADLET_INLINE, n);
		} else {
			ASSERT_EQ(THREADLET_WENT_ASYNC, n);
			ASSERT_EQ(0, syslet_threadlet_done(&t));
			ASSERT_EQ(7, write(sv[1], "GET f3\n", 7));
			ASSERT_EQ(0, syslet_threadlet_wait(&t, &five_s));
		}
		ASSERT_EQ(SRV_OK, syslet_threadlet_result(&t));
		ASSERT_EQ(SIZE, c.sent);
		close(sv[0]);
		n = read(sv[1], self->resp, sizeof(self->resp));
		ASSERT_EQ(9 + SIZE, n);
		ASSERT_EQ(0, memcmp(self->resp, "OK 16384\n", 9));
		for (int i = 0; i < SIZE; i++)
			ASSERT_EQ(srv_content(3, i), (unsigned char)self->resp[9 + i]);
		close(sv[1]);
	}
	close(dirfd);
}

TEST_F(srv, bad_requests_get_an_error_answer)
{
	static const char *const bad[][2] = {
		{ "FOO f1\n", "ERR EINVAL bad request\n" },
		{ "GET ../etc/passwd\n", "ERR EINVAL bad request\n" },
		{ "GET .hidden\n", "ERR EINVAL bad request\n" },
		{ "GET \n", "ERR EINVAL bad request\n" },
		{ "GET nosuch\n", "ERR ENOENT no such file\n" },
		{ "GET sock\n", "ERR EINVAL not a regular file\n" },
	};
	char longreq[SRV_MAX_REQUEST];
	long n;

	memset(longreq, 'x', sizeof(longreq));
	for (int m = 0; m < NMODES; m++) {
		struct server *s = start(_metadata, self, modes[m], 4);
		struct srv_stats ss;

		ASSERT_NE(NULL, s);
		for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			n = srv_request(self->sock, bad[i][0], strlen(bad[i][0]), 0, 0,
					self->resp, sizeof(self->resp));
			ASSERT_EQ(strlen(bad[i][1]), n) TH_LOG("%s", bad[i][0]);
			ASSERT_EQ(0, memcmp(self->resp, bad[i][1], n));
		}
		n = srv_request(self->sock, longreq, sizeof(longreq), 0, 0, self->resp,
				sizeof(self->resp));
		ASSERT_EQ(30, n);
		ASSERT_EQ(0, memcmp(self->resp, "ERR EMSGSIZE request too long\n", 30));
		/* And it still serves. */
		n = srv_request(self->sock, "GET f9\n", 7, 0, 0, self->resp, sizeof(self->resp));
		ASSERT_EQ(9 + SIZE, n);
		ASSERT_EQ(srv_content(9, SIZE - 1), (unsigned char)self->resp[9 + SIZE - 1]);
		ASSERT_EQ(0, srv_stop(s, &ss));
		ASSERT_EQ(5, ss.status[SRV_BAD_REQUEST]);
		ASSERT_EQ(2, ss.status[SRV_NOT_FOUND]);
		ASSERT_EQ(1, ss.status[SRV_OK]);
		ASSERT_EQ(0, ss.status[SRV_ABORTED] + ss.status[SRV_FAILED]);
	}
}

TEST_F(srv, clients_that_leave_mid_request_are_aborted_connections)
{
	for (int m = 0; m < NMODES; m++) {
		struct server *s = start(_metadata, self, modes[m], 4);
		struct srv_stats ss;
		char part[1000];
		long n;
		int fd;

		ASSERT_NE(NULL, s);
		/* Half a request line, then gone. */
		fd = srv_connect(self->sock);
		ASSERT_LE(0, fd);
		ASSERT_EQ(6, write(fd, "GET f1", 6));
		close(fd);
		/* An 8 MiB answer the client stops reading after 1000
		 * bytes: the handler blocks on the full socket (the
		 * threadlet goes asynchronous), then gets EPIPE. */
		fd = srv_connect(self->sock);
		ASSERT_LE(0, fd);
		ASSERT_EQ(8, write(fd, "GET big\n", 8));
		ASSERT_EQ(sizeof(part), recv(fd, part, sizeof(part), MSG_WAITALL));
		ASSERT_EQ(0, memcmp(part, "OK 8388608\nbbb", 14));
		usleep(100000);
		close(fd);
		n = srv_request(self->sock, "GET f2\n", 7, 0, 0, self->resp, sizeof(self->resp));
		ASSERT_EQ(9 + SIZE, n);
		ASSERT_EQ(0, srv_stop(s, &ss));
		ASSERT_EQ(2, ss.status[SRV_ABORTED]);
		ASSERT_EQ(1, ss.status[SRV_OK]);
		ASSERT_GT(BIG, ss.bytes - SIZE);	/* the big file was cut short */
		if (modes[m] == SRV_THREADLET) {
			ASSERT_LE(1, ss.async_runs);
		}
	}
}

struct late { const char *sock; char resp[SIZE + 64]; long n; };

static void *late_client(void *arg)
{
	struct late *l = arg;

	l->n = srv_request(l->sock, "GET f5\n", 7, 50000, 0, l->resp, sizeof(l->resp));
	return NULL;
}

static int syslet_counter(const char *name)
{
	char line[128];
	size_t len = strlen(name);
	FILE *f = fopen("/proc/self/syslet", "r");
	int v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ' ')
			v = atoi(line + len + 1);
	if (f)
		fclose(f);
	return v;
}

TEST_F(srv, the_server_stops_with_no_thread_left)
{
	int before = tasks();

	ASSERT_LT(0, before);
	for (int m = 0; m < NMODES; m++) {
		struct load_config load = { self->sock, 16, 10, 16, SIZE, 0 };
		struct server *s = start(_metadata, self, modes[m], 16);
		struct late late[4];
		pthread_t th[4];
		struct load_stats ls;
		struct srv_stats ss;
		int now = 0;

		ASSERT_NE(NULL, s);
		ASSERT_LT(before, tasks());	/* the loop (and workers) run */
		/* Requests sent late: their handlers block. */
		for (int i = 0; i < 4; i++) {
			late[i].sock = self->sock;
			ASSERT_EQ(0, pthread_create(&th[i], NULL, late_client, &late[i]));
		}
		ASSERT_EQ(0, load_run(&load, &ls)) TH_LOG("%s", ls.first_error);
		for (int i = 0; i < 4; i++) {
			ASSERT_EQ(0, pthread_join(th[i], NULL));
			ASSERT_EQ(9 + SIZE, late[i].n);
		}
		ASSERT_EQ(0, srv_stop(s, &ss));
		ASSERT_EQ(164, ss.status[SRV_OK]);
		if (modes[m] == SRV_THREADS) {
			/* Every worker joined: none is left at once. */
			ASSERT_EQ(before, tasks());
			continue;
		}
		if (modes[m] == SRV_THREADLET) {
			ASSERT_LE(4, ss.async_runs);
		}
		/* Threads that ran blocked handlers park as spares and idle
		 * out (after 50 ms here); io_uring's workers end with the
		 * loop thread's ring: the count comes back. */
		for (int i = 0; i < 100 && (now = tasks()) != before; i++)
			usleep(50000);
		ASSERT_EQ(before, now);
		ASSERT_EQ(0, syslet_counter("spares_alive"));
		ASSERT_EQ(0, syslet_counter("threads_alive"));
	}
}

static int cli(char *out, size_t outlen, const char *args)
{
	char line[512], *argv[32], *save = NULL;
	int argc = 0, status, mfd = memfd_create("out", 0);
	ssize_t n;
	pid_t pid;

	snprintf(line, sizeof(line), "%s", args);
	argv[argc++] = "threadlet-server";
	for (char *w = strtok_r(line, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(mfd, 1);
		dup2(mfd, 2);
		status = ts_main(argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	waitpid(pid, &status, 0);
	n = pread(mfd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(mfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(srv, the_command_line)
{
	static const char *const bad[][2] = {
		{ "--mode=epoll", "unknown mode (threadlet, threads or uring): 'epoll'" },
		{ "--clients 0", "clients must be 1..1024: '0'" },
		{ "--clients 1025", "clients must be 1..1024: '1025'" },
		{ "--slots 0", "slots must be 1..1024: '0'" },
		{ "--size x", "size must be 1..67108864: 'x'" },
		{ "more", "unexpected argument: 'more'" },
	};
	char *out = self->resp;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(2, cli(out, sizeof(self->resp), bad[i][0]));
		ASSERT_NE(NULL, strstr(out, bad[i][1])) TH_LOG("%s", out);
	}
	ASSERT_EQ(0, cli(out, sizeof(self->resp), "--mode=threadlet --clients 16 --requests 10"))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "160 ok, 0 failed")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "server: 160 served, 0 bad")) TH_LOG("%s", out);
	ASSERT_EQ(0, cli(out, sizeof(self->resp), "--mode=threads --clients 1 --requests 7 "
						 "--size 100000 --files 3"));
	ASSERT_NE(NULL, strstr(out, "7 ok, 0 failed")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "0 threadlets inline, 0 async")) TH_LOG("%s", out);
	ASSERT_EQ(0, cli(out, sizeof(self->resp), "--mode=uring --clients 16 --requests 10 "
						 "--slots 4 --size 200000"));
	ASSERT_NE(NULL, strstr(out, "160 ok, 0 failed")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "server: 160 served")) TH_LOG("%s", out);
	ASSERT_EQ(1, cli(out, sizeof(self->resp), "--dir /nonexistent/dir"));
	ASSERT_NE(NULL, strstr(out, "cannot make the files in /nonexistent/dir")) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
