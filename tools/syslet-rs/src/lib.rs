// SPDX-License-Identifier: GPL-2.0

//! User-space bindings for the syslet subsystem of this project's kernel.
//!
//! The ABI is `include/uapi/linux/syslet.h`; this crate carries its own
//! copy of the numbers (as liburing carries its own `io_uring.h`) and a
//! host-side test checks the copy against the header. System calls go
//! through the `syscall` instruction directly: no libc, and the kernel's
//! answer arrives unfiltered as `Result<_, Errno>`.
//!
//! ```no_run
//! let mut counter: u64 = 41;
//! assert_eq!(syslet::umem_add(&mut counter, 1), Ok(42));
//! ```
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

pub mod nr;
mod raw;

pub use raw::Errno;

/// `umem_add(uptr, inc)`: adds `inc` to `*word` in the kernel and returns
/// the new value (`inc == 0` only reads). Wraps modulo 2^64.
///
/// A sum whose `long` reading lies in `-4095..=-1` cannot be told from an
/// error by the return value; read `*word` back when that matters.
pub fn umem_add(word: &mut u64, inc: u64) -> Result<u64, Errno> {
    // SAFETY: `word` is a valid, exclusive 8-byte location for the call.
    unsafe { umem_add_raw(word as *mut u64 as usize, inc) }
}

/// `umem_add()` on any address, for tests of the error paths.
///
/// # Safety
///
/// The kernel may write 8 bytes at `addr`; the caller must own them, or
/// expect `EFAULT`.
pub unsafe fn umem_add_raw(addr: usize, inc: u64) -> Result<u64, Errno> {
    // SAFETY: the caller vouches for `addr`; the other argument is a value.
    raw::decode(unsafe { raw::syscall3(nr::UMEM_ADD, addr, inc as usize, 0) }).map(|v| v as u64)
}

/// `async_exec(atom, ahu)` with null pointers: probes whether the engine
/// is present (`Err(Errno::ENOSYS)` until it lands).
pub fn async_exec_probe() -> Result<usize, Errno> {
    // SAFETY: null pointers are never dereferenced by a kernel that
    // answers; at worst it reports EFAULT or ENOSYS.
    raw::decode(unsafe { raw::syscall3(nr::ASYNC_EXEC, 0, 0, 0) })
}

/// `async_wait(min, user_ring_idx, ahu)` with a null head: a probe like
/// [`async_exec_probe`].
pub fn async_wait_probe() -> Result<usize, Errno> {
    // SAFETY: as for `async_exec_probe`.
    raw::decode(unsafe { raw::syscall3(nr::ASYNC_WAIT, 1, 0, 0) })
}
