// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: the mode (io_submit() or every call to glibc), glibc's
 * own functions, and the statistics.
 */
#include "syslet_aio.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct sa_real sa_real;
int sa_mode;
int sa_nowait = 1;
unsigned long long sa_stats[SA_ST_N];

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* --- glibc's functions ----------------------------------------------- */

/*
 * glibc's own definitions: looked up in libc.so.6 itself (glibc >= 2.34)
 * or librt.so.1 (older), never with RTLD_NEXT first, which a non-PIE
 * executable's PLT address for the same name could answer.
 */
static void *real(const char *name, const char *version)
{
	static const char *const libs[] = { "libc.so.6", "librt.so.1" };
	void *p = NULL;

	for (unsigned i = 0; i < 2 && !p; i++) {
		void *h = dlopen(libs[i], RTLD_NOW | (i ? 0 : RTLD_NOLOAD));

		if (!h)
			continue;
		p = version ? dlvsym(h, name, version) : dlsym(h, name);
	}
	if (!p && !version)
		p = dlsym(RTLD_NEXT, name);
	return p;
}

/* NAME is set to the one character C. */
static int env_is(const char *name, char c)
{
	const char *v = getenv(name);

	return v && v[0] == c && !v[1];
}

static void init_once(void)
{
	sa_real.read = real("aio_read", NULL);
	sa_real.write = real("aio_write", NULL);
	sa_real.fsync = real("aio_fsync", NULL);
	sa_real.error = real("aio_error", NULL);
	sa_real.ret = real("aio_return", NULL);
	sa_real.suspend = real("aio_suspend", NULL);
	sa_real.cancel = real("aio_cancel", NULL);
	sa_real.listio = real("lio_listio", NULL);
	sa_real.listio_old = real("lio_listio", "GLIBC_2.2.5");
	sa_real.init = real("aio_init", NULL);

	int mode = SA_MODE_PASS;

	if (env_is("SYSLET_AIO_DISABLE", '1')) {
		mode = SA_MODE_PASS;
	} else if (env_is("SYSLET_AIO_FORCE", '1')) {
		mode = SA_MODE_KERNEL;
	} else {
		/* The engine's switch: present and 1 means io_submit() of a
		 * buffered read no longer blocks the caller. */
		int fd = open("/proc/sys/kernel/syslet_aio", O_RDONLY | O_CLOEXEC);
		char c = 0;

		if (fd >= 0) {
			if (read(fd, &c, 1) == 1 && c == '1')
				mode = SA_MODE_KERNEL;
			close(fd);
		}
	}
	/* Shadows need glibc's functions; without them nothing works. */
	if (!sa_real.read || !sa_real.write || !sa_real.fsync || !sa_real.cancel)
		mode = SA_MODE_PASS;
	sa_nowait = !env_is("SYSLET_AIO_NOWAIT", '0');
	sa_helper_init(env_is("SYSLET_AIO_HELPER", '0') ? '0' :
		       env_is("SYSLET_AIO_HELPER", '2') ? '2' : 0);
	if (mode == SA_MODE_KERNEL)
		pthread_atfork(sa_fork_prepare, sa_fork_parent, sa_fork_child);
	__atomic_store_n(&sa_mode, mode, __ATOMIC_RELEASE);
}

void sa_init(void)
{
	pthread_once(&once, init_once);
}

/* --- statistics ------------------------------------------------------ */

/*
 * syslet_aio_stats(): the mode (0 not decided yet, 1 every call passed to
 * glibc, 2 io_submit()) and up to N counters in the order of SA_ST_*.
 */
SA_API int syslet_aio_stats(unsigned long long *v, int n)
{
	for (int i = 0; i < n && i < SA_ST_N; i++)
		v[i] = __atomic_load_n(&sa_stats[i], __ATOMIC_RELAXED);
	return __atomic_load_n(&sa_mode, __ATOMIC_ACQUIRE);
}

__attribute__((destructor)) static void stats_at_exit(void)
{
	static const char *const names[] = { "unused", "glibc", "io_submit" };
	unsigned long long v[SA_ST_N];
	int m;

	if (!env_is("SYSLET_AIO_STATS", '1'))
		return;
	sa_free_deferred();	/* what aio_suspend() left: not live any more */
	m = syslet_aio_stats(v, SA_ST_N);
	dprintf(2, "syslet-aio[%d]: mode=%s kernel=%llu glibc=%llu passthrough=%llu "
		"reaped_inline=%llu reaped_thread=%llu deferred=%llu io_cancel=%llu live=%llu "
		"nowait=%llu polled=%llu kicks=%llu helper=%llu helper_hit=%llu\n",
		(int)getpid(), names[m], v[SA_ST_KERNEL], v[SA_ST_GLIBC], v[SA_ST_PASS],
		v[SA_ST_INLINE], v[SA_ST_REAPER], v[SA_ST_DEFERRED], v[SA_ST_CANCEL],
		v[SA_ST_LIVE], v[SA_ST_NOWAIT], v[SA_ST_POLLED], v[SA_ST_KICK], v[SA_ST_HELPER],
		v[SA_ST_HELPER_HIT]);
}
