// SPDX-License-Identifier: GPL-2.0

//! `umem_add(uptr, inc)`: add `inc` to the `unsigned long` at `uptr`.
//!
//! From the 2007 series: a chain of atoms cannot compute, so a loop that
//! counts (read N blocks, then stop) needs a system call that updates a
//! counter in user memory and returns the new value, which a stop
//! condition (`SYSLET_STOP_ON_ZERO` ...) can then test.
//!
//! Semantics, kept from 2007 and documented in
//! `Documentation/syscalls.md`:
//!
//! * `inc == 0` reads: the current value is returned and memory is not
//!   written (so a read-only mapping works).
//! * Otherwise the word becomes `value + inc`, wrapping modulo 2^64 like C
//!   `unsigned long` arithmetic, and the new value is returned.
//! * Any fault on the 8 bytes at `uptr` gives `-EFAULT` and leaves memory
//!   unchanged. `uptr` need not be aligned.
//! * The read and the write are two user accesses, not one atomic
//!   operation: concurrent updates from other threads may be lost, exactly
//!   as with `get_user()`/`put_user()` in the original.
//! * The return value is a `long`: a sum between `-4095` and `-1` reads as
//!   an error to libc's `syscall()`. Callers that need the whole range read
//!   the word back.

use core::mem::size_of;
use kernel::{prelude::*, uaccess::UserSlice};

/// Adds `inc` to the word at user address `uptr` and returns the new value.
pub(crate) fn umem_add(uptr: usize, inc: usize) -> Result<usize> {
    let (mut reader, mut writer) = UserSlice::new(uptr, size_of::<usize>()).reader_writer();
    let value: usize = reader.read()?;
    if inc == 0 {
        return Ok(value);
    }
    let sum = value.wrapping_add(inc);
    writer.write(&sum)?;
    Ok(sum)
}

/// Body of `sys_umem_add()`, called by the shim in `syscalls.c`.
#[no_mangle]
pub extern "C" fn syslet_rs_umem_add(uptr: usize, inc: usize) -> isize {
    // A sum above `isize::MAX` is returned as the negative `long` with the
    // same bits, as the C original did.
    crate::to_syscall_ret(umem_add(uptr, inc).map(|v| v as isize))
}
