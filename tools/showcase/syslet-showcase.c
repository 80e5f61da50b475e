// SPDX-License-Identifier: GPL-2.0
/*
 * make run's showcase, run inside the guest: shows the kernel, that the
 * syslet subsystem is built in (its Rust symbols are in the kernel), and
 * what each of its system calls answers. Exits non-zero if a call does
 * not answer as documented.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "syslet_test.h"

static int count_rust_symbols(void)
{
	static const char *const wanted[] = {
		"syslet_rs_umem_add", "syslet_rs_async_exec", "syslet_rs_async_wait",
	};
	char line[512], name[256];
	FILE *f = fopen("/proc/kallsyms", "r");
	int found = 0;
	size_t i;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %255s", name) != 1)
			continue;
		for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
			if (!strcmp(name, wanted[i])) {
				printf("  %s\n", name);
				found++;
			}
	}
	fclose(f);
	return found;
}

static const char *err_name(int e)
{
	switch (e) {
	case EFAULT: return "EFAULT";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}

/*
 * Two chains in the 2007 style. The first never blocks: getpid, then a
 * loop that counts a variable down to zero with umem_add (the atom points
 * at itself and stops on zero), then getppid; async_exec() returns its
 * last atom. The second reads an empty pipe: it blocks, so async_exec()
 * returns NULL at once, and the completion arrives in the ring when the
 * data is written.
 */
static int show_chain(void)
{
	struct syslet_uatom a[3], rd, *ring[4] = { 0 }, *end, *done;
	struct async_head_user ahu = RING_HEAD(ring);
	unsigned long counter = 5, minus_one = -1UL, *cp = &counter;
	unsigned long fd, buf, len;
	long ret[3] = { 0, 0, 0 }, rret = 0, w;
	char data[16] = "";
	int bad, p[2];

	atom_set(&a[0], 0, __NR_getpid, &ret[0], &a[1], NULL);
	atom_set(&a[1], SYSLET_STOP_ON_ZERO | SYSLET_SKIP_TO_NEXT_ON_STOP,
		 __NR_umem_add, &ret[1], &a[1],
		 ATOM_ARGS((unsigned long *)&cp, &minus_one));
	atom_set(&a[2], 0, __NR_getppid, &ret[2], NULL, NULL);
	end = (struct syslet_uatom *)sys_async_exec(&a[0], &ahu);
	printf("  async_exec (%d): chain getpid; umem_add(&counter, -1) looping to 0; getppid\n",
	       __NR_async_exec);
	printf("                   returned atom %ld of 3 (did not block), results %ld, %ld, %ld;"
	       " counter %lu\n", end ? (long)(end - a) + 1 : 0L, ret[0], ret[1], ret[2], counter);
	bad = end != &a[2] || ret[0] != getpid() || ret[2] != getppid() || counter;

	if (pipe(p))
		return 1;
	fd = p[0];
	buf = (unsigned long)data;
	len = sizeof(data) - 1;
	atom_set(&rd, 0, __NR_read, &rret, NULL, ATOM_ARGS(&fd, &buf, &len));
	end = (struct syslet_uatom *)sys_async_exec(&rd, &ahu);
	printf("                   chain read(empty pipe): returned %s (went asynchronous)\n",
	       end ? "an atom" : "NULL");
	bad |= end != NULL;
	if (write(p[1], "hello", 5) != 5)
		return 1;
	w = sys_async_wait(1, 0, &ahu);
	done = ring[0];
	printf("  async_wait (%d): after write(\"hello\"): %ld completion, ring[0] %s the read atom,"
	       " it read %ld bytes \"%s\"\n", __NR_async_wait, w,
	       done == &rd ? "is" : "is NOT", rret, data);
	bad |= w != 1 || done != &rd || rret != 5 || strcmp(data, "hello");
	close(p[0]);
	close(p[1]);
	return bad;
}

int main(void)
{
	unsigned long counter = 41;
	struct utsname u;
	int bad = 0, n;
	long r;

	uname(&u);
	printf("== Syslets for Rust-for-Linux: showcase\n");
	printf("kernel:    %s %s %s %s\n", u.sysname, u.release, u.version, u.machine);

	printf("subsystem: Rust entry points in /proc/kallsyms:\n");
	n = count_rust_symbols();
	if (n != 3) {
		printf("  MISSING: found %d of 3\n", n);
		bad = 1;
	}

	printf("syscalls:\n");
	r = sys_umem_add(&counter, 1);
	printf("  umem_add   (%d): counter 41, umem_add(&counter, 1) = %ld, counter = %lu\n",
	       __NR_umem_add, r, counter);
	bad |= r != 42 || counter != 42;
	r = sys_umem_add(&counter, 0);
	printf("                   umem_add(&counter, 0) = %ld (reads)\n", r);
	bad |= r != 42;
	errno = 0;
	r = sys_umem_add(NULL, 1);
	printf("                   umem_add(NULL, 1) = %ld, errno %s\n", r, err_name(errno));
	bad |= r != -1 || errno != EFAULT;
	bad |= show_chain();

	printf("== %s\n", bad ? "FAILED: a call did not answer as documented" : "all calls answered as documented");
	return bad;
}
