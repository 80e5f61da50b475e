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

use kernel::bindings as b;

/// A system call number from `bindings` (`asm/unistd_64.h`, which
/// patches/0001 extends with the syslet calls), as an index.
const fn nr(nr: u32) -> usize {
    nr as usize
}

/// Refused system calls and why.
const REFUSED: &[(usize, &str)] = &[
    (nr(b::__NR_rt_sigprocmask), "rt_sigprocmask: the calling thread's signal mask"),
    (nr(b::__NR_rt_sigreturn), "rt_sigreturn: the calling thread's register frame"),
    (nr(b::__NR_pause), "pause: waits for a signal to the calling thread"),
    (nr(b::__NR_clone), "clone: creates a task"),
    (nr(b::__NR_fork), "fork: creates a task"),
    (nr(b::__NR_vfork), "vfork: creates a task"),
    (nr(b::__NR_execve), "execve: replaces the program"),
    (nr(b::__NR_exit), "exit: ends the calling thread"),
    (nr(b::__NR_ptrace), "ptrace: PTRACE_TRACEME acts on the caller"),
    (nr(b::__NR_setuid), "setuid: credentials"),
    (nr(b::__NR_setgid), "setgid: credentials"),
    (nr(b::__NR_setreuid), "setreuid: credentials"),
    (nr(b::__NR_setregid), "setregid: credentials"),
    (nr(b::__NR_setgroups), "setgroups: credentials"),
    (nr(b::__NR_setresuid), "setresuid: credentials"),
    (nr(b::__NR_setresgid), "setresgid: credentials"),
    (nr(b::__NR_setfsuid), "setfsuid: credentials"),
    (nr(b::__NR_setfsgid), "setfsgid: credentials"),
    (nr(b::__NR_capset), "capset: credentials"),
    (nr(b::__NR_rt_sigtimedwait), "rt_sigtimedwait: waits for signals to the calling thread"),
    (nr(b::__NR_rt_sigsuspend), "rt_sigsuspend: the calling thread's signal mask"),
    (nr(b::__NR_sigaltstack), "sigaltstack: the calling thread's signal stack"),
    (nr(b::__NR_personality), "personality: the calling thread's personality"),
    (nr(b::__NR_setpriority), "setpriority: pid 0 is the calling thread"),
    (nr(b::__NR_sched_setparam), "sched_setparam: pid 0 is the calling thread"),
    (nr(b::__NR_sched_setscheduler), "sched_setscheduler: pid 0 is the calling thread"),
    (nr(b::__NR_prctl), "prctl: per-thread state (name, seccomp, no_new_privs ...)"),
    (nr(b::__NR_pivot_root), "pivot_root: an LSM may move the caller to another label (commit_creds)"),
    (nr(b::__NR_arch_prctl), "arch_prctl: the calling thread's FS/GS base"),
    (nr(b::__NR_reboot), "reboot: in a pid namespace it ends the calling thread"),
    (nr(b::__NR_iopl), "iopl: the calling thread's register frame"),
    (nr(b::__NR_ioperm), "ioperm: the calling thread's I/O permission bitmap"),
    (nr(b::__NR_sched_setaffinity), "sched_setaffinity: pid 0 is the calling thread"),
    (nr(b::__NR_set_tid_address), "set_tid_address: the calling thread's clear_child_tid"),
    (nr(b::__NR_restart_syscall), "restart_syscall: the calling thread's restart block"),
    (nr(b::__NR_exit_group), "exit_group: ends the process"),
    (nr(b::__NR_set_mempolicy), "set_mempolicy: the calling thread's memory policy"),
    (nr(b::__NR_add_key), "add_key: may install a thread or process keyring (commit_creds)"),
    (nr(b::__NR_request_key), "request_key: may install a thread or process keyring (commit_creds)"),
    (nr(b::__NR_keyctl), "keyctl: session and request-key keyrings are credentials (commit_creds)"),
    (nr(b::__NR_ioprio_set), "ioprio_set: who 0 is the calling thread"),
    (nr(b::__NR_unshare), "unshare: the calling thread's namespaces and tables"),
    (nr(b::__NR_set_robust_list), "set_robust_list: the calling thread's robust futexes"),
    (nr(b::__NR_setns), "setns: the calling thread's namespaces"),
    (nr(b::__NR_sched_setattr), "sched_setattr: pid 0 is the calling thread"),
    (nr(b::__NR_seccomp), "seccomp: filters of the calling thread"),
    (nr(b::__NR_execveat), "execveat: replaces the program"),
    (nr(b::__NR_rseq), "rseq: the calling thread's restartable sequences"),
    (nr(b::__NR_uretprobe), "uretprobe: the calling thread's register frame"),
    (nr(b::__NR_io_uring_setup), "io_uring_setup: io_uring state is per task (its io-wq workers would be the async thread's)"),
    (nr(b::__NR_io_uring_enter), "io_uring_enter: io_uring state is per task"),
    (nr(b::__NR_io_uring_register), "io_uring_register: io_uring state is per task"),
    (nr(b::__NR_clone3), "clone3: creates a task"),
    (nr(b::__NR_landlock_restrict_self), "landlock_restrict_self: credentials (commit_creds)"),
    (nr(b::__NR_lsm_set_self_attr), "lsm_set_self_attr: the calling thread's LSM attributes (commit_creds)"),
    (nr(b::__NR_async_exec), "async_exec: no nesting"),
    (nr(b::__NR_async_wait), "async_wait: no nesting"),
    (nr(b::__NR_threadlet_on), "threadlet_on: the calling thread's user context"),
    (nr(b::__NR_threadlet_off), "threadlet_off: the calling thread's user context"),
];

/// Numbers at or above this are not x86-64 system calls (x32 numbers
/// carry bit 30); they answer `-ENOSYS` without reaching the table.
pub(crate) const NR_LIMIT: usize = 1024;

/// `futex` operations on priority-inheritance futexes: an async thread
/// cannot take part in priority inheritance (the rt-mutex paths skip the
/// scheduler hook and assert they never run on io threads).
const FUTEX_PI_OPS: [u32; 6] = [
    b::FUTEX_LOCK_PI,
    b::FUTEX_UNLOCK_PI,
    b::FUTEX_TRYLOCK_PI,
    b::FUTEX_WAIT_REQUEUE_PI,
    b::FUTEX_CMP_REQUEUE_PI,
    b::FUTEX_LOCK_PI2,
];
/// What `futex()` keeps of its `op` argument to pick the command
/// (`FUTEX_CMD_MASK` in `uapi/linux/futex.h`).
const FUTEX_CMD_MASK: u32 = !(b::FUTEX_PRIVATE_FLAG | b::FUTEX_CLOCK_REALTIME);

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
    // futex() takes `op` as an int: the upper half of the register is not
    // part of it.
    has_arg_rules(nr) && FUTEX_PI_OPS.contains(&(args[1] as u32 & FUTEX_CMD_MASK))
}

/// Whether [`refused_args`] may refuse system call `nr`.
pub(crate) fn has_arg_rules(nr: usize) -> bool {
    nr == b::__NR_futex as usize
}

/// KUnit entry point.
#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
#[no_mangle]
pub extern "C" fn syslet_kunit_refused(nr: usize) -> bool {
    refused(nr)
}
