/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What tests/aio_line_test.c and tests/aio_line_pager_test.c share: the
 * blocks of /dev/nullb0 they read (block i holds 'a' + i), the anonymous
 * destinations, a case's setup and teardown, a batch of reads submitted
 * in one io_submit() call, and the reaping of their events.
 */
#ifndef AIO_LINE_H
#define AIO_LINE_H

#define BASE (640LL << 20)	/* away from the other tests' blocks */
#define SLOW_OFF (BASE + (32LL << 20))	/* the first read's destination */
#define SLOW (128 << 10)
#define N 16
#define RA_KB "/sys/block/nullb0/queue/read_ahead_kb"
#define MAX_THREADS "/proc/sys/kernel/syslet_max_threads"

/* The destinations: anonymous memory of their own (a static array's first
 * page can share the file mapping of .data, which keeps a read out of the
 * line). */
static char (*bufs)[4096];

struct line_case {
	int fd, wfd;
	long ra_kb;
	char *slow;	/* the first read's destination */
};

/* Block i of the test: 'a' + i, at BASE + i * STRIDE; the device's
 * read-ahead off; then nothing of it cached. */
static inline int setup(struct line_case *c)
{
	char *blk;
	int fd, i, ok = 1;

	/* The destinations resident, as a program's reused buffers are: a
	 * read in line copies without faults, and one that must fault (even
	 * a first touch) passes the line on. */
	if (!bufs) {
		bufs = mmap(NULL, N * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (bufs == MAP_FAILED) {
			bufs = NULL;
			return -1;
		}
	}
	memset(bufs, 0, N * 4096);
	c->ra_kb = read_number(RA_KB);
	if (c->ra_kb < 0 || write_number(RA_KB, 0) || set_syslet_aio(1))
		return -1;
	fd = open(NULLB, O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&blk, 4096, 4096))
		return -1;
	for (i = 0; i < N; i++) {
		memset(blk, 'a' + i, 4096);
		ok &= pwrite(fd, blk, 4096, BASE + (long long)i * STRIDE) == 4096;
	}
	free(blk);
	close(fd);
	drop_caches();
	/* Opened after the read-ahead went off: their files read none. */
	c->fd = open(NULLB, O_RDONLY);
	c->wfd = open(NULLB, O_RDWR);
	c->slow = mmap(NULL, SLOW, PROT_READ | PROT_WRITE, MAP_SHARED, c->wfd, SLOW_OFF);
	return ok && c->fd >= 0 && c->wfd >= 0 && c->slow != MAP_FAILED ? 0 : -1;
}

static inline void teardown(struct line_case *c)
{
	/* Written back, so that the next case's drop_caches() drops them. */
	if (c->slow && c->slow != MAP_FAILED) {
		msync(c->slow, SLOW, MS_SYNC);
		munmap(c->slow, SLOW);
	}
	close(c->wfd);
	close(c->fd);
	if (c->ra_kb >= 0)
		write_number(RA_KB, c->ra_kb);
}

/*
 * Submits reads 0 .. n-1 of the blocks in one io_submit() (4 KiB into
 * bufs[i]); read 0 is 128 KiB into the slow destination if `slow`. The
 * call's block plug holds the device's requests until it returns: no read
 * can complete before the last is submitted.
 */
static inline int submit_batch(struct line_case *c, io_context_t ctx, struct iocb *cbs, int n, int slow)
{
	struct iocb *cbp[N + 1];
	int i;

	for (i = 0; i < n; i++) {
		io_prep_pread(&cbs[i], c->fd, bufs[i], 4096, BASE + (long long)i * STRIDE);
		cbp[i] = &cbs[i];
	}
	if (slow)
		io_prep_pread(&cbs[0], c->fd, c->slow, SLOW, BASE);
	return io_submit(ctx, n, cbp);
}

/* Reaps n events into evs, in the order the ring has them. */
static inline int reap_events(io_context_t ctx, struct io_event *evs, int n)
{
	int got = 0, r;

	while (got < n) {
		r = io_getevents(ctx, 1, n - got, evs + got, NULL);
		if (r <= 0)
			return got;
		got += r;
	}
	return got;
}

/* As reap_events(), giving up after `secs` seconds in all. */
static inline int reap_events_within(io_context_t ctx, struct io_event *evs, int n, int secs)
{
	double end = now_ms() + secs * 1000.0;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int got = 0, r;

	while (got < n && now_ms() < end) {
		r = io_getevents(ctx, 1, n - got, evs + got, &ts);
		if (r < 0)
			return got;
		got += r;
	}
	return got;
}

#endif /* AIO_LINE_H */
