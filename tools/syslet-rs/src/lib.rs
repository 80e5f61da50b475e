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

mod abi;
pub mod nr;
mod raw;
pub mod threadlet;

pub use abi::{flags, AsyncHead, Atom};
pub use raw::{syscall3, Errno};
pub use threadlet::{threadlet_exec, Threadlet};

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

/// `async_exec(atom, head)`: runs the chain that starts at `atom`.
///
/// Returns the atom the chain ended at (it finished without going
/// asynchronous), or null when it went asynchronous (its completion then
/// appears in `head`'s ring).
///
/// # Safety
///
/// Every atom of the chain, every pointer in it and the ring must be valid
/// for the kernel to read (atoms, arguments, head) and write (`ret_ptr`s,
/// arguments of calls that write, the ring) until the chain completes.
pub unsafe fn async_exec(atom: *const Atom, head: *mut AsyncHead) -> Result<*const Atom, Errno> {
    // SAFETY: the caller vouches for the chain and the head.
    raw::decode(unsafe { raw::syscall3(nr::ASYNC_EXEC, atom as usize, head as usize, 0) })
        .map(|a| a as *const Atom)
}

/// `async_wait(min, user_ring_idx, head)`: waits until at least `min`
/// completions lie in the ring past `user_ring_idx`; returns how many do.
pub fn async_wait(min: u64, user_ring_idx: u64, head: &AsyncHead) -> Result<u64, Errno> {
    // SAFETY: the kernel only reads `head`, which is valid for the call.
    raw::decode(unsafe {
        raw::syscall3(nr::ASYNC_WAIT, min as usize, user_ring_idx as usize, head as *const _ as usize)
    })
    .map(|n| n as u64)
}
