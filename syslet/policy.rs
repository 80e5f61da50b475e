// SPDX-License-Identifier: GPL-2.0

//! Which system calls an atom may not make.
//!
//! An atom may run on a thread other than the one that submitted it (an
//! async thread), so calls that act on *the calling thread* itself, its
//! register frame or its identity would act on the wrong thread, and calls
//! that create or end tasks or change credentials would do so behind the
//! submitter's back (Alan Cox's list on the 2007 thread). They are refused
//! whether the atom happens to run inline or not, so a chain's meaning
//! never depends on timing. A refused atom is not executed; its result is
//! `-EOPNOTSUPP` (documented in `Documentation/syslets.md`).

/// Refused system calls (x86-64 numbers) and why.
const REFUSED: &[(usize, &str)] = &[
    (14, "rt_sigprocmask: the calling thread's signal mask"),
    (15, "rt_sigreturn: the calling thread's register frame"),
    (34, "pause: waits for a signal to the calling thread"),
    (56, "clone: creates a task"),
    (57, "fork: creates a task"),
    (58, "vfork: creates a task"),
    (59, "execve: replaces the program"),
    (60, "exit: ends the calling thread"),
    (101, "ptrace: PTRACE_TRACEME acts on the caller"),
    (105, "setuid: credentials"),
    (106, "setgid: credentials"),
    (113, "setreuid: credentials"),
    (114, "setregid: credentials"),
    (116, "setgroups: credentials"),
    (117, "setresuid: credentials"),
    (119, "setresgid: credentials"),
    (122, "setfsuid: credentials"),
    (123, "setfsgid: credentials"),
    (126, "capset: credentials"),
    (128, "rt_sigtimedwait: waits for signals to the calling thread"),
    (130, "rt_sigsuspend: the calling thread's signal mask"),
    (131, "sigaltstack: the calling thread's signal stack"),
    (135, "personality: the calling thread's personality"),
    (141, "setpriority: pid 0 is the calling thread"),
    (142, "sched_setparam: pid 0 is the calling thread"),
    (144, "sched_setscheduler: pid 0 is the calling thread"),
    (157, "prctl: per-thread state (name, seccomp, no_new_privs ...)"),
    (155, "pivot_root: an LSM may move the caller to another label (commit_creds)"),
    (158, "arch_prctl: the calling thread's FS/GS base"),
    (169, "reboot: in a pid namespace it ends the calling thread"),
    (172, "iopl: the calling thread's register frame"),
    (173, "ioperm: the calling thread's I/O permission bitmap"),
    (203, "sched_setaffinity: pid 0 is the calling thread"),
    (218, "set_tid_address: the calling thread's clear_child_tid"),
    (219, "restart_syscall: the calling thread's restart block"),
    (231, "exit_group: ends the process"),
    (238, "set_mempolicy: the calling thread's memory policy"),
    (248, "add_key: may install a thread or process keyring (commit_creds)"),
    (249, "request_key: may install a thread or process keyring (commit_creds)"),
    (250, "keyctl: session and request-key keyrings are credentials (commit_creds)"),
    (251, "ioprio_set: who 0 is the calling thread"),
    (272, "unshare: the calling thread's namespaces and tables"),
    (273, "set_robust_list: the calling thread's robust futexes"),
    (308, "setns: the calling thread's namespaces"),
    (314, "sched_setattr: pid 0 is the calling thread"),
    (317, "seccomp: filters of the calling thread"),
    (322, "execveat: replaces the program"),
    (334, "rseq: the calling thread's restartable sequences"),
    (335, "uretprobe: the calling thread's register frame"),
    (425, "io_uring_setup: io_uring state is per task (its io-wq workers would be the async thread's)"),
    (426, "io_uring_enter: io_uring state is per task"),
    (427, "io_uring_register: io_uring state is per task"),
    (435, "clone3: creates a task"),
    (446, "landlock_restrict_self: credentials (commit_creds)"),
    (460, "lsm_set_self_attr: the calling thread's LSM attributes (commit_creds)"),
    (600, "async_exec: no nesting"),
    (601, "async_wait: no nesting"),
    (603, "threadlet_on: the calling thread's user context"),
    (604, "threadlet_off: the calling thread's user context"),
];

/// Numbers at or above this are not x86-64 system calls (x32 numbers
/// carry bit 30); they answer `-ENOSYS` without reaching the table.
pub(crate) const NR_LIMIT: usize = 1024;

/// `futex` (202) operations on priority-inheritance futexes: an async
/// thread cannot take part in priority inheritance (the rt-mutex paths
/// skip the scheduler hook and assert they never run on io threads).
const NR_FUTEX: usize = 202;
const FUTEX_CMD_MASK: usize = 0x7f; // ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
const FUTEX_PI_OPS: [usize; 6] = [6, 7, 8, 11, 12, 13]; // LOCK_PI .. LOCK_PI2

/// [`REFUSED`] as a bitmap over `0..NR_LIMIT`, built at compile time:
/// one load per atom instead of a scan (every atom is checked).
const REFUSED_BITS: [u64; NR_LIMIT / 64] = {
    let mut bits = [0u64; NR_LIMIT / 64];
    let mut i = 0;
    while i < REFUSED.len() {
        let nr = REFUSED[i].0;
        bits[nr / 64] |= 1 << (nr % 64);
        i += 1;
    }
    bits
};

/// Whether system call `nr` may not run inside a chain.
pub(crate) fn refused(nr: usize) -> bool {
    nr < NR_LIMIT && REFUSED_BITS[nr / 64] & (1 << (nr % 64)) != 0
}

/// Whether system call `nr` with arguments `args` may not run inside a
/// chain because of its arguments: the PI operations of `futex`
/// ([`refused`] is checked first).
pub(crate) fn refused_args(nr: usize, args: &[usize; 6]) -> bool {
    has_arg_rules(nr) && FUTEX_PI_OPS.contains(&(args[1] & FUTEX_CMD_MASK))
}

/// Whether [`refused_args`] may refuse system call `nr`.
pub(crate) fn has_arg_rules(nr: usize) -> bool {
    nr == NR_FUTEX
}

/// KUnit entry point.
#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
#[no_mangle]
pub extern "C" fn syslet_kunit_refused(nr: usize) -> bool {
    refused(nr)
}
