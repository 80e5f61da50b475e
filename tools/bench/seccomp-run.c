// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp-run PROGRAM [ARG...]: runs PROGRAM under a seccomp filter
 * shaped like Docker's default profile, for make bench's container job
 * (issue #15: "a seccomp-filtered task gets the same cold-read speed-up
 * as an unfiltered one").
 *
 * The shape that matters: an allow-list with a default action of EPERM
 * (moby's profiles/seccomp/default.json: defaultAction SCMP_ACT_ERRNO),
 * checked on every system call of the task and of every thread it makes,
 * with the architecture checked first. Allowed: every x86-64 system call
 * number up to the last this header knows, except those Docker's profile
 * leaves out (administration, kernel modules, namespaces, mounts, tracing
 * and other processes' memory, keyrings, NUMA policy, io_uring; see
 * `denied` below); clone3 answers ENOSYS, as in Docker's, so that glibc
 * falls back to clone. Docker also filters clone's namespace flags and
 * personality's argument; this filter does not look at arguments (fio
 * passes neither).
 *
 * The filter is checked before exec: a call off the list (getppid is on
 * it, kexec_load is not) must fail with EPERM, or the program is not run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What Docker's default profile does not allow on x86-64. */
static const int denied[] = {
	__NR_acct, __NR_add_key, __NR_bpf, __NR_clock_adjtime, __NR_clock_settime,
	__NR_create_module, __NR_delete_module, __NR_finit_module,
	__NR_get_kernel_syms, __NR_get_mempolicy, __NR_init_module, __NR_ioperm,
	__NR_iopl, __NR_kcmp, __NR_kexec_file_load, __NR_kexec_load, __NR_keyctl,
	__NR_lookup_dcookie, __NR_mbind, __NR_mount, __NR_move_pages,
	__NR_name_to_handle_at, __NR_nfsservctl, __NR_open_by_handle_at,
	__NR_perf_event_open, __NR_pivot_root, __NR_process_vm_readv,
	__NR_process_vm_writev, __NR_ptrace, __NR_query_module, __NR_quotactl,
	__NR_reboot, __NR_request_key, __NR_set_mempolicy, __NR_setns,
	__NR_settimeofday, __NR_swapon, __NR_swapoff, __NR_sysfs, __NR__sysctl,
	__NR_umount2, __NR_unshare, __NR_uselib, __NR_userfaultfd, __NR_ustat,
	__NR_vhangup, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
	__NR_move_mount, __NR_open_tree, __NR_mount_setattr,
	__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
};
/* The last system call number allowed (every later one is refused):
 * mseal, 6.12's last on x86-64. */
#ifndef __NR_mseal
#define __NR_mseal 462
#endif
#define LAST_NR __NR_mseal

enum { NDENIED = sizeof(denied) / sizeof(denied[0]) };
/* At most one allowed interval more than denied numbers, 2 jumps each. */
#define MAXPROG (8 + 2 * (NDENIED + 2))

static int is_denied(int nr)
{
	for (int i = 0; i < NDENIED; i++)
		if (denied[i] == nr)
			return 1;
	return 0;
}

/*
 * The allowed numbers as intervals [lo, hi]: for each, "nr < lo: next
 * interval's test; nr <= hi: allow". Sorted, so the first interval whose
 * `hi` is at least nr decides.
 */
static int build(struct sock_filter *f)
{
	int n = 0, lo = -1;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	for (int nr = 0; nr <= LAST_NR + 1; nr++) {
		int ok = nr <= LAST_NR && !is_denied(nr) && nr != __NR_clone3;

		if (ok && lo < 0)
			lo = nr;
		if (!ok && lo >= 0) {
			if (n + 3 > MAXPROG)
				return -1;
			/* nr < lo: refused (the intervals are sorted) */
			f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0,
							      MAXPROG);	/* patched below */
			/* nr <= hi (= nr - 1): allowed */
			f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, nr - 1, 0,
							      MAXPROG);	/* patched below */
			lo = -1;
		}
	}
	/* Patch the jumps: "refused" and "allowed" are the last two. */
	int refuse = n, allow = n + 1;

	for (int i = 6; i < n; i += 2) {
		f[i].jf = refuse - (i + 1);
		f[i + 1].jf = allow - (i + 2);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return n;
}

int main(int argc, char **argv)
{
	struct sock_filter f[MAXPROG];
	struct sock_fprog prog;
	int n;

	if (argc < 2) {
		fprintf(stderr, "usage: seccomp-run PROGRAM [ARG...]\n");
		return 2;
	}
	n = build(f);
	if (n < 0) {
		fprintf(stderr, "seccomp-run: filter too long\n");
		return 1;
	}
	prog.len = n;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		perror("seccomp-run: installing the filter");
		return 1;
	}
	/* Allowed calls pass, a refused one fails with EPERM. */
	if (syscall(__NR_getppid) <= 0 || syscall(__NR_kexec_load, 0, 0, 0, 0) != -1 ||
	    errno != EPERM || syscall(__NR_clone3, NULL, 0) != -1 || errno != ENOSYS) {
		fprintf(stderr, "seccomp-run: the filter does not answer as it should\n");
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "seccomp-run: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
