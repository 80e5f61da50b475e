// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX AIO conformance suite: reads the library may finish inside
 * aio_read() (its page-cache attempt, lib/posix-aio/submit.c), each run
 * against glibc's implementation and the library with the same output.
 */
#include "conformance.h"

#include <sched.h>
#include <sys/mman.h>

/*
 * Reads of data in the page cache (the library finishes them inside
 * aio_read(); SYSLET_AIO_STATS=1 counts them as nowait=): whole, short at the
 * end of the file, past it, empty, at offset -1 (pread()'s EINVAL, not
 * the file position), and one behind an unfinished write on the same fd,
 * which must see the write's data.
 */
void case_cached_reads(void)
{
	enum { SIZE = 256 * 1024, N = 512 };
	/* a block device where the suite's files cannot take RWF_NOWAIT
	 * (tmpfs in make test's guest) */
	const char *dev = getenv("SA_CACHED_DEV");
	int fd = dev ? open(dev, O_RDWR | O_CLOEXEC) : make_file("cached", SIZE, 11);
	char *buf = malloc(8192), *w = malloc(SIZE);

	if (fd < 0) {
		perror(dev);
		exit(2);
	}
	if (dev) {
		fill(w, SIZE, 11);
		if (pwrite(fd, w, SIZE, 0) != SIZE) {
			perror("pwrite");
			exit(2);
		}
	}
	uint64_t h = 0xcbf29ce484222325ull;
	long long sum = 0;
	int ok = 0, short_reads = 0;
	struct aiocb cb, wc;
	uint32_t x = 7;

	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		off_t off = (off_t)(x >> 8) % (SIZE + 8192);
		size_t n = i % 64 == 5 ? 0 : 4096;

		memset(buf, 0, 4096);
		setcb(&cb, fd, buf, n, off);
		ok += aio_read(&cb) == 0;
		wait_cb(&cb);
		ssize_t r = aio_return(&cb);

		short_reads += r >= 0 && (size_t)r < n;
		sum += r;
		h = (h ^ digest(buf, r > 0 ? (size_t)r : 0)) * 0x100000001b3ull;
	}
	out("cached_reads: %d of %d submitted, %d short, bytes=%lld digest=%016llx", ok, N,
	    short_reads, sum, (unsigned long long)h);
	lseek(fd, 4096, SEEK_SET);
	setcb(&cb, fd, buf, 100, -1);
	int rc = aio_read(&cb);

	wait_cb(&cb);
	out("cached_reads: offset -1 rc=%d %s position=%lld", rc, res(&cb),
	    (long long)lseek(fd, 0, SEEK_CUR));
	fill(w, 4096, 12);
	setcb(&wc, fd, w, 4096, 8192);
	setcb(&cb, fd, buf, 4096, 8192);
	int rw = aio_write(&wc);

	rc = aio_read(&cb);
	wait_cb(&wc);
	wait_cb(&cb);
	out("cached_reads: read behind a write rc=%d,%d write %s read %s same=%d", rw, rc,
	    res(&wc), res(&cb), !memcmp(buf, w, 4096));
	close(fd);
	free(buf);
	free(w);
}

/*
 * Reads of what is not a file (the library's page-cache attempt takes
 * whatever accepts preadv2(RWF_NOWAIT) at an offset): /dev/zero (whole),
 * /dev/null (a short read of a character device: 0 is pread()'s answer),
 * a directory (EISDIR), a pipe (ESPIPE from pread(); glibc then reads),
 * each with the buffer's contents after.
 */
void case_device_reads(void)
{
	static const char *const paths[] = { "/dev/zero", "/dev/null", "/" };
	char buf[512];
	struct aiocb cb;
	int p[2];

	for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);

		memset(buf, 0x5a, sizeof buf);
		setcb(&cb, fd, buf, sizeof buf, 12345);
		int rc = aio_read(&cb);

		wait_cb(&cb);
		out("device_reads: %s rc=%d %s first=%#x last=%#x", paths[i], rc, res(&cb),
		    (unsigned char)buf[0], (unsigned char)buf[sizeof buf - 1]);
		close(fd);
	}
	if (pipe2(p, O_CLOEXEC)) {
		perror("pipe2");
		exit(2);
	}
	if (write(p[1], "pipe data", 9) != 9) {
		perror("write");
		exit(2);
	}
	memset(buf, 0, sizeof buf);
	setcb(&cb, p[0], buf, sizeof buf, 0);
	int rc = aio_read(&cb);

	wait_cb(&cb);
	out("device_reads: pipe rc=%d %s data=%.9s", rc, res(&cb), buf);
	close(p[0]);
	close(p[1]);
}

static volatile int zero_spin_stop;

static void zero_pin0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof set, &set);
}

static void *zero_spin(void *arg)
{
	(void)arg;
	zero_pin0();
	while (!zero_spin_stop)
		;
	return NULL;
}

/*
 * Large reads of /dev/zero while another thread wants the same CPU:
 * pread() returns the whole count (read_zero() reschedules), a read
 * with RWF_NOWAIT stops early when the CPU is wanted. The library must
 * not take such a short read for the answer (session 15's review: it did
 * once it tried every descriptor without fstat()).
 */
void case_zero_large(void)
{
	enum { LEN = 32 << 20, ROUNDS = 3 };
	char *buf = malloc(LEN);
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC), full = 0;
	struct aiocb cb;
	cpu_set_t old;
	pthread_t t;

	if (fd < 0 || !buf) {
		perror("zero_large");
		exit(2);
	}
	for (size_t i = 0; i < LEN; i += 4096)
		buf[i] = 1;	/* no page fault inside the read */
	sched_getaffinity(0, sizeof old, &old);
	zero_pin0();
	zero_spin_stop = 0;
	pthread_create(&t, NULL, zero_spin, NULL);
	for (int r = 0; r < ROUNDS; r++) {
		setcb(&cb, fd, buf, LEN, 0);
		int rc = aio_read(&cb);

		wait_cb(&cb);
		full += rc == 0 && aio_return(&cb) == LEN;
	}
	zero_spin_stop = 1;
	pthread_join(t, NULL);
	sched_setaffinity(0, sizeof old, &old);
	out("zero_large: %d of %d reads of %d bytes full", full, ROUNDS, LEN);
	close(fd);
	free(buf);
}

/*
 * Reads into memory the program cannot write, as glibc's pread() answers
 * them: a PROT_NONE page and a read-only page (EFAULT), and 8 KiB whose
 * second page is PROT_NONE (4096: the bytes copied before the fault).
 * On tmpfs (make test's guest) the library reads these inline with a
 * plain preadv2(); elsewhere its attempt stops at the fault and the read
 * goes to io_submit().
 */
void case_bad_buffers(void)
{
	int fd = make_file("badbuf", 16384, 21);
	char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct aiocb cb;

	if (m == MAP_FAILED || mprotect(m + 4096, 4096, PROT_NONE) ||
	    mprotect(m + 8192, 4096, PROT_READ)) {
		perror("mmap");
		exit(2);
	}
	memset(m, 0, 4096);
	const struct {
		const char *what;
		char *buf;
		size_t n;
	} t[] = {
		/* two good reads first: the library's first read on a file
		 * system makes its io_context, which its inline read needs */
		{ "writable", m, 4096 },
		{ "writable again", m, 4096 },
		{ "no access", m + 4096, 4096 },
		{ "read-only", m + 8192, 4096 },
		{ "second page no access", m, 8192 },
	};
	for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
		setcb(&cb, fd, t[i].buf, t[i].n, 4096);
		int rc = aio_read(&cb);

		wait_cb(&cb);
		out("bad_buffers: %s rc=%d %s", t[i].what, rc, res(&cb));
	}
	out("bad_buffers: first page digest=%016llx", (unsigned long long)digest(m, 4096));
	munmap(m, 3 * 4096);
	close(fd);
}
