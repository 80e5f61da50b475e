// SPDX-License-Identifier: GPL-2.0
/* The file server's two shapes (server.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslet.h>

#include "server.h"
#include "server_uring.h"

#define STACK	(32 * 1024)
#define PAGE	4096
#define QUEUE	1024

/* A threadlet in flight, or a worker thread's connection. */
struct slot {
	struct syslet_threadlet t;
	int busy;
	char *stack;
	struct srv_conn c;
};

struct server {
	struct srv_config cfg;
	int lsock, dirfd, stopfd;
	pthread_t loop;
	struct srv_stats stats;
	struct slot *slots;
	char *stacks;			/* threadlet stacks, each above a guard page */
	/* SRV_THREADS: the accepted connections' queue and the workers. */
	pthread_mutex_t lock;
	pthread_cond_t more, room;
	int queue[QUEUE];
	unsigned int qhead, qlen, stopping, nworkers;
	pthread_t *workers;
	/* SRV_URING: the ring, made by the loop thread (ready: its answer). */
	struct srv_uring *uring;
	int ready, ready_err;
};

const char *srv_mode_name(enum srv_mode mode)
{
	return mode == SRV_THREADLET ? "threadlet" : mode == SRV_THREADS ? "threads" :
	       mode == SRV_URING ? "uring" : "?";
}

int srv_mode_parse(const char *s, enum srv_mode *mode)
{
	if (!strcmp(s, "threadlet"))
		*mode = SRV_THREADLET;
	else if (!strcmp(s, "threads"))
		*mode = SRV_THREADS;
	else if (!strcmp(s, "uring"))
		*mode = SRV_URING;
	else
		return -EINVAL;
	return 0;
}

static void tally(struct srv_stats *st, long status, long sent)
{
	if (status < 0 || status >= SRV_NSTATUS)
		status = SRV_FAILED;
	st->status[status]++;
	st->bytes += sent;
}

/*
 * Waits for the next connection: its descriptor, or -1 once stopped and
 * no connection is waiting (what clients connected before srv_stop() is
 * served).
 */
static int next_conn(struct server *s)
{
	struct pollfd p[2] = { { s->lsock, POLLIN, 0 }, { s->stopfd, POLLIN, 0 } };
	int fd;

	for (;;) {
		fd = accept4(s->lsock, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR) {
			if (!s->stats.loop_error)
				s->stats.loop_error = -errno;
			return -1;
		}
		if (p[1].revents)
			return -1;	/* stopped, and the backlog is empty */
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			if (!s->stats.loop_error)
				s->stats.loop_error = -errno;
			return -1;
		}
	}
}

/* ---- threadlets ---------------------------------------------------------- */

static long handler(void *arg)
{
	return srv_handle(&((struct slot *)arg)->c);
}

static void reap(struct server *s, struct slot *sl)
{
	tally(&s->stats, syslet_threadlet_result(&sl->t), sl->c.sent);
	sl->busy = 0;
}

/* A free slot, reaping finished threadlets; waits for the oldest one if
 * every slot is busy. */
static struct slot *free_slot(struct server *s, unsigned int *next)
{
	struct slot *found = NULL;

	for (unsigned int i = 0; i < s->cfg.slots; i++) {
		struct slot *sl = &s->slots[i];

		if (sl->busy && syslet_threadlet_done(&sl->t))
			reap(s, sl);
		if (!sl->busy && !found)
			found = sl;
	}
	if (found)
		return found;
	found = &s->slots[*next];
	*next = (*next + 1) % s->cfg.slots;
	syslet_threadlet_wait(&found->t, NULL);
	reap(s, found);
	return found;
}

static void threadlet_loop(struct server *s)
{
	unsigned int next = 0;
	struct slot *sl;
	int fd, r;

	while ((fd = next_conn(s)) >= 0) {
		sl = free_slot(s, &next);
		sl->c.sock = fd;
		sl->c.dirfd = s->dirfd;
		sl->busy = 1;
		r = syslet_threadlet_start(&sl->t, handler, sl, sl->stack, STACK);
		if (r == THREADLET_INLINE) {
			s->stats.inline_runs++;
			reap(s, sl);
		} else if (r == THREADLET_WENT_ASYNC) {
			s->stats.async_runs++;
		} else {
			/* No threadlet (-ENOSYS, ...): served all the same,
			 * inline, and the failure kept for srv_stop(). */
			if (!s->stats.loop_error)
				s->stats.loop_error = r;
			tally(&s->stats, srv_handle(&sl->c), sl->c.sent);
			sl->busy = 0;
		}
	}
	for (unsigned int i = 0; i < s->cfg.slots; i++)
		if (s->slots[i].busy) {
			syslet_threadlet_wait(&s->slots[i].t, NULL);
			reap(s, &s->slots[i]);
		}
}

/* ---- a pool of threads ----------------------------------------------------- */

static void *worker(void *arg)
{
	struct slot *sl = arg;
	struct server *s = (struct server *)sl->stack;	/* set by start_workers() */
	long r;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->qlen && !s->stopping)
			pthread_cond_wait(&s->more, &s->lock);
		if (!s->qlen) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		sl->c.sock = s->queue[s->qhead];
		s->qhead = (s->qhead + 1) % QUEUE;
		s->qlen--;
		pthread_cond_signal(&s->room);
		pthread_mutex_unlock(&s->lock);
		r = srv_handle(&sl->c);
		pthread_mutex_lock(&s->lock);
		tally(&s->stats, r, sl->c.sent);
		pthread_mutex_unlock(&s->lock);
	}
}

static void threads_loop(struct server *s)
{
	int fd;

	while ((fd = next_conn(s)) >= 0) {
		pthread_mutex_lock(&s->lock);
		while (s->qlen == QUEUE)
			pthread_cond_wait(&s->room, &s->lock);
		s->queue[(s->qhead + s->qlen) % QUEUE] = fd;
		s->qlen++;
		pthread_cond_signal(&s->more);
		pthread_mutex_unlock(&s->lock);
	}
	/* What was queued is served; then the workers end. */
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->more);
	pthread_mutex_unlock(&s->lock);
	for (unsigned int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
}

static void *loop(void *arg)
{
	struct server *s = arg;

	if (s->cfg.mode == SRV_URING) {
		int err = srv_uring_init(&s->uring, s->lsock, s->dirfd, s->stopfd,
					 s->cfg.slots, &s->stats);

		pthread_mutex_lock(&s->lock);
		s->ready = 1;
		s->ready_err = err;
		pthread_cond_broadcast(&s->more);
		pthread_mutex_unlock(&s->lock);
		if (!err)
			srv_uring_loop(s->uring);
	} else if (s->cfg.mode == SRV_THREADLET) {
		threadlet_loop(s);
	} else {
		threads_loop(s);
	}
	return NULL;
}

/* ---- start and stop ---------------------------------------------------------- */

static void destroy(struct server *s)
{
	if (s->lsock >= 0)
		close(s->lsock);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->stopfd >= 0)
		close(s->stopfd);
	if (s->stacks)
		munmap(s->stacks, (size_t)s->cfg.slots * (STACK + PAGE));
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->more);
	pthread_cond_destroy(&s->room);
	free(s->workers);
	free(s->slots);
	free(s);
}

static int listen_on(struct server *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (strlen(s->cfg.sock_path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, s->cfg.sock_path);
	s->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lsock < 0)
		return -errno;
	unlink(a.sun_path);
	if (bind(s->lsock, (struct sockaddr *)&a, sizeof(a)) || listen(s->lsock, 1024))
		return -errno;
	return 0;
}

static int make_slots(struct server *s)
{
	unsigned int n = s->cfg.slots, i;

	if (s->cfg.mode == SRV_URING)
		return 0;	/* the ring's connections are its own */
	s->slots = calloc(n, sizeof(*s->slots));
	if (!s->slots)
		return -ENOMEM;
	/* Touched now, as the stacks below: the first touch of a page in a
	 * handler would fault, and a fault may block. */
	for (size_t b = 0; b < (size_t)n * sizeof(*s->slots); b += PAGE)
		((volatile char *)s->slots)[b] = 0;
	if (s->cfg.mode == SRV_THREADS) {
		s->workers = calloc(n, sizeof(*s->workers));
		if (!s->workers)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			s->slots[i].stack = (char *)s;	/* the worker's server */
			s->slots[i].c.dirfd = s->dirfd;
			if (pthread_create(&s->workers[i], NULL, worker, &s->slots[i]))
				return -EAGAIN;
			s->nworkers++;
		}
		return 0;
	}
	s->stacks = mmap(NULL, (size_t)n * (STACK + PAGE), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (s->stacks == MAP_FAILED) {
		s->stacks = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		char *base = s->stacks + (size_t)i * (STACK + PAGE);

		memset(base + PAGE, 0, STACK);
		if (mprotect(base, PAGE, PROT_NONE))
			return -errno;
		s->slots[i].stack = base + PAGE;
	}
	return 0;
}

int srv_start(const struct srv_config *cfg, struct server **out)
{
	struct server *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->lsock = s->dirfd = s->stopfd = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->more, NULL);
	pthread_cond_init(&s->room, NULL);
	if (cfg->mode > SRV_URING || !cfg->slots || cfg->slots > SRV_MAX_SLOTS ||
	    !cfg->dir || !cfg->sock_path) {
		free(s);
		return -EINVAL;
	}
	s->cfg = *cfg;
	s->dirfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = s->dirfd < 0 ? -errno : 0;
	if (!err)
		err = (s->stopfd = eventfd(0, EFD_CLOEXEC)) < 0 ? -errno : 0;
	if (!err)
		err = listen_on(s);
	if (!err)
		err = make_slots(s);
	if (!err)
		err = -pthread_create(&s->loop, NULL, loop, s);
	if (!err && cfg->mode == SRV_URING) {
		pthread_mutex_lock(&s->lock);
		while (!s->ready)
			pthread_cond_wait(&s->more, &s->lock);
		pthread_mutex_unlock(&s->lock);
		err = s->ready_err;
		if (err)
			pthread_join(s->loop, NULL);
	}
	if (err) {
		/* Workers already made end at once (nothing queued). */
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_broadcast(&s->more);
		pthread_mutex_unlock(&s->lock);
		for (unsigned int i = 0; i < s->nworkers; i++)
			pthread_join(s->workers[i], NULL);
		destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

int srv_stop(struct server *s, struct srv_stats *stats)
{
	uint64_t one = 1;
	int err = 0;

	if (write(s->stopfd, &one, sizeof(one)) != sizeof(one))
		err = -errno;
	else
		err = -pthread_join(s->loop, NULL);
	if (err)
		return err;	/* the loop may still run: nothing is freed */
	unlink(s->cfg.sock_path);
	if (stats)
		*stats = s->stats;
	destroy(s);
	return 0;
}
