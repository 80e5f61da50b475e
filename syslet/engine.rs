// SPDX-License-Identifier: GPL-2.0

//! `async_exec()` and `async_wait()`: the syslet engine.
//!
//! The engine (atoms, the completion ring, async threads) is not built yet.
//! Until it is, both calls exist in the system call table and answer
//! `-ENOSYS`, so user space probes them exactly as it would probe a kernel
//! without the subsystem: nothing here pretends to run a syslet.

use kernel::prelude::*;

/// `-ENOSYS`, which `kernel::error::code` does not name.
fn enosys() -> Error {
    Error::from_errno(-(kernel::bindings::ENOSYS as i32))
}

/// Body of `sys_async_exec()`: not implemented yet.
#[no_mangle]
pub extern "C" fn syslet_rs_async_exec(_atom: usize, _ahu: usize) -> isize {
    crate::to_syscall_ret(Err(enosys()))
}

/// Body of `sys_async_wait()`: not implemented yet.
#[no_mangle]
pub extern "C" fn syslet_rs_async_wait(
    _min_wait_events: usize,
    _user_ring_idx: usize,
    _ahu: usize,
) -> isize {
    crate::to_syscall_ret(Err(enosys()))
}
