// SPDX-License-Identifier: GPL-2.0

//! Syslets: asynchronous system calls for Rust-for-Linux.
//!
//! C header: [`include/linux/syslet.h`](srctree/include/linux/syslet.h);
//! user ABI: [`include/uapi/linux/syslet.h`](srctree/include/uapi/linux/syslet.h).
//!
//! This crate is the whole implementation of the subsystem's system calls.
//! The C side (`syscalls.c`) holds only `SYSCALL_DEFINE` shims that forward
//! their arguments to the `#[no_mangle] extern "C"` functions defined in
//! the modules below, so the system call table, ftrace metadata and
//! argument truncation stay the kernel's own. The KUnit suite
//! (`syslet_kunit.c`) calls the same `extern "C"` functions on real user
//! memory.
//!
//! | module       | owns                                                     |
//! |--------------|----------------------------------------------------------|
//! | [`umem`]     | `umem_add()`: add to a word of user memory (chain loops) |
//! | [`exec`]     | `async_exec()`, `async_wait()`: where a chain runs       |
//! | [`engine`]   | running a chain, atom after atom                         |
//! | [`exit`]     | the `do_exit()` hook: what an exiting thread gives back  |
//! | [`handoff`]  | the cachemiss handoff: the sleep hook, moving a context  |
//! | [`eligible`] | whether a context may move, and to which spare           |
//! | [`identity`] | identity changes stop detached chains                    |
//! | [`threadlet`]| `threadlet_on()`, `threadlet_off()`                      |
//! | [`abi`]      | the uapi structures, decoded from user memory            |
//! | [`chain`]    | stop conditions, the next atom                           |
//! | [`invoke`]   | one atom: arguments, refusal, seccomp, the call itself   |
//! | [`policy`]   | the system calls an atom may not make                    |
//! | [`prim`]     | the current task, sysctls, jiffies, live counters        |
//! | [`process`]  | a process's engine state: the pools and what they share  |
//! | [`worker`]   | the async threads: the pool, running a chain, detaching  |
//! | [`job`]      | what an async thread runs: chains and detached work      |
//! | [`spare`]    | spare threads, their pool, parking them                  |
//! | [`shared`]   | what every part shares: posting, counts, identity, stats |
//! | [`threads`]  | the count of a process's engine threads, its bound       |
//! | [`signals`]  | what a signal asks of the engine's own tasks             |
//! | [`task`]     | the per-task record the hooks read                       |
//! | [`wait`]     | waiting under a raw spinlock                             |
//! | [`ring`]     | completion ring index arithmetic                         |
//! | [`trace`]    | tracepoints                                              |
//! | [`tuning`]   | code shaped for speed: why, and what it costs elsewhere  |
//! | [`aio`]      | fs/aio.c's reads, writes and fsyncs on the engine        |
//!
//! Every entry point runs in process context on behalf of the calling
//! task, may sleep (user memory faults) and takes no lock.

use kernel::prelude::*;

/// For the KUnit cases in Rust (`spare/kunit.rs`, `worker/kunit.rs`):
/// returns the line of the first check that fails, as the case's result.
/// Defined before the modules, so that every one of them can use it.
#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
macro_rules! kunit_check {
    ($cond:expr) => {
        if !$cond {
            return line!() as core::ffi::c_int;
        }
    };
}

mod abi;
#[cfg(CONFIG_SYSLET_AIO)]
mod aio;
mod chain;
mod eligible;
mod engine;
mod exec;
mod exit;
mod handoff;
mod identity;
mod invoke;
mod job;
mod line;
mod policy;
mod prim;
mod process;
mod ring;
mod shared;
mod signals;
mod spare;
mod task;
mod threadlet;
mod threads;
mod trace;
mod tuning;
mod umem;
mod wait;
mod worker;

// The C ABI of the crate: what `include/linux/syslet.h` declares.
#[cfg(CONFIG_SYSLET_AIO)]
pub use aio::{syslet_aio_next, syslet_aio_park, syslet_aio_rw, syslet_aio_work};
#[cfg(CONFIG_SYSLET_AIO)]
pub use aio::cancel::{syslet_aio_cancel, syslet_aio_put_record};
pub use exec::{syslet_rs_async_exec, syslet_rs_async_wait};
pub use invoke::syslet_rs_dispatch_init;
pub use handoff::syslet_task_sleeping;
pub use threadlet::{syslet_exec_begin, syslet_exec_end, syslet_rs_threadlet_off, syslet_rs_threadlet_on};
pub use process::{syslet_free_process, syslet_identity_changed, syslet_rs_stats};
pub use exit::{syslet_rs_task_exit, syslet_rs_task_left};
pub use worker::syslet_worker_sleeping;
pub use umem::syslet_rs_umem_add;
#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
pub use {
    chain::{syslet_kunit_next, syslet_kunit_stops},
    line::kunit::{syslet_kunit_line_abandon, syslet_kunit_line_admits, syslet_kunit_line_order, syslet_kunit_line_stall},
    policy::syslet_kunit_refused,
    ring::{syslet_kunit_ring_pending, syslet_kunit_ring_slot},
    spare::kunit::{syslet_kunit_spare_reserve, syslet_kunit_spare_reserve_skips, syslet_kunit_spare_retire},
    worker::kunit::{syslet_kunit_worker_idle, syslet_kunit_worker_tables},
};

/// Prefix of this crate's `pr_*!` messages.
const __LOG_PREFIX: &[u8] = b"syslet\0";

/// `-EOPNOTSUPP`, which `kernel::error::code` does not name.
fn eopnotsupp() -> Error {
    Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))
}

/// `-ECANCELED`: an atom of a detached chain not run because its
/// submitter's identity changed ([`identity`]).
fn ecanceled() -> Error {
    Error::from_errno(-(kernel::bindings::ECANCELED as i32))
}

/// What a system call result becomes when it cannot go back through the
/// system call exit path: the kernel-internal restart codes
/// (include/linux/errno.h), which that path would turn into a restart or
/// `-EINTR`, become `-EINTR` (as fs/aio.c's aio_rw_done() does).
#[inline]
fn restart_to_eintr(ret: isize) -> isize {
    use kernel::bindings as b;
    const ERESTARTSYS: isize = b::ERESTARTSYS as isize;
    const ERESTARTNOINTR: isize = b::ERESTARTNOINTR as isize;
    const ERESTARTNOHAND: isize = b::ERESTARTNOHAND as isize;
    const ERESTART_RESTARTBLOCK: isize = b::ERESTART_RESTARTBLOCK as isize;
    match ret.wrapping_neg() {
        ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND | ERESTART_RESTARTBLOCK => {
            -(kernel::bindings::EINTR as isize)
        }
        _ => ret,
    }
}

/// Turns a [`Result`] into the `long` a system call returns: the value on
/// success, a negative errno on failure.
fn to_syscall_ret(res: Result<isize>) -> isize {
    match res {
        Ok(v) => v,
        Err(e) => e.to_errno() as isize,
    }
}
