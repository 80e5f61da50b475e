// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX AIO on a tun device: requests keep their order.
 *
 * glibc runs the requests of one descriptor one after another, in
 * submission order: of two aio_read()s on a tun device, the first takes
 * the first packet. A tun device accepts preadv2(RWF_NOWAIT) at an
 * offset, so a library that tried its page-cache read on any descriptor
 * (libsyslet-aio did, briefly, in session 15) let a later aio_read()
 * take a packet inside the call while an earlier one still waited in
 * glibc's queue. tests/posix_aio/run.sh runs this with glibc and with
 * the library and requires the same output.
 *
 * glibc gets one thread (aio_init), kept busy by a read of an empty pipe
 * (that read also makes the library's next attempt back off, so r1 goes
 * to glibc; r2 is attempted). Packets "A" then "B" are queued on the tun
 * device; then r1 and r2 are submitted, the pipe is filled, all waited.
 * glibc: r1=A r2=B. Library: r1=B r2=A.
 *
 * Needs root (a private network namespace, a tun device): without them it
 * prints "no tun device" and exits 3, which run.sh reports as not run.
 */
#define _GNU_SOURCE
#include <aio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void put(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);

	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0) { /* best effort */ }
		close(fd);
	}
}

static int tun_up(void)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd, s;

	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0)
		die("/dev/net/tun");
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strcpy(ifr.ifr_name, "sarev0");
	if (ioctl(fd, TUNSETIFF, &ifr))
		die("TUNSETIFF");
	s = socket(AF_INET, SOCK_DGRAM, 0);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "10.77.0.1", &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr))
		die("SIOCSIFADDR");
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (ioctl(s, SIOCSIFNETMASK, &ifr))
		die("SIOCSIFNETMASK");
	ifr.ifr_flags = IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		die("SIOCSIFFLAGS");
	close(s);
	return fd;
}

static void send_udp(const char *payload)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
	if (sendto(s, payload, strlen(payload), 0, (struct sockaddr *)&to, sizeof to) < 0)
		die("sendto");
	close(s);
}

/* The UDP payload of an IPv4 packet read from the tun device. */
static const char *payload(const char *pkt, ssize_t n)
{
	static char out[2][16];
	static int i;
	char *o = out[i++ & 1];
	int ihl = (pkt[0] & 15) * 4;

	if (n < ihl + 8 + 1)
		return "?";
	snprintf(o, sizeof out[0], "%.*s", (int)(n - ihl - 8), pkt + ihl + 8);
	return o;
}

static ssize_t finish(struct aiocb *cb)
{
	const struct aiocb *l[1] = { cb };

	while (aio_error(cb) == EINPROGRESS)
		aio_suspend(l, 1, NULL);
	return aio_return(cb);
}

int main(void)
{
	struct aioinit init = { .aio_threads = 1, .aio_num = 4, .aio_idle_time = 1 };
	static char b0[16], b1[2048], b2[2048];
	struct aiocb r0 = { 0 }, r1 = { 0 }, r2 = { 0 };
	int p[2], tun;
	ssize_t n1, n2;

	if (unshare(CLONE_NEWNET) || access("/dev/net/tun", R_OK | W_OK)) {
		printf("no tun device\n");
		return 3;
	}
	/* no IPv6 chatter (router solicitations) on the device */
	put("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	put("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	tun = tun_up();
	aio_init(&init);
	if (pipe(p))
		die("pipe");

	/* glibc's only thread blocks in read() of the empty pipe */
	r0.aio_fildes = p[0];
	r0.aio_buf = b0;
	r0.aio_nbytes = 1;
	if (aio_read(&r0))
		die("aio_read r0");
	usleep(100000);

	send_udp("A");
	send_udp("B");
	usleep(100000);

	r1.aio_fildes = tun;
	r1.aio_buf = b1;
	r1.aio_nbytes = sizeof b1;
	r2 = r1;
	r2.aio_buf = b2;
	if (aio_read(&r1) || aio_read(&r2))
		die("aio_read r1/r2");
	printf("right after submission: r1 %s, r2 %s\n",
	       aio_error(&r1) == EINPROGRESS ? "in progress" : "finished",
	       aio_error(&r2) == EINPROGRESS ? "in progress" : "finished");

	if (write(p[1], "x", 1) != 1)
		die("write");
	finish(&r0);
	n1 = finish(&r1);
	n2 = finish(&r2);
	printf("r1=%s r2=%s\n", n1 > 0 ? payload(b1, n1) : strerror(aio_error(&r1)),
	       n2 > 0 ? payload(b2, n2) : strerror(aio_error(&r2)));
	return 0;
}
