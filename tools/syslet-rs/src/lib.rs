// SPDX-License-Identifier: GPL-2.0

//! User-space bindings for the syslet subsystem of this project's kernel:
//! asynchronous system call chains, threadlets and the private fd space
//! (Documentation/syslets.md, handoff.md, fdspace.md).
//!
//! - [`Chain`] builds a chain of system calls: typed atoms, stop
//!   conditions, branches ([`Chain::skip_to_next_on_stop`]), loops
//!   ([`Chain::then`]) and results feeding later atoms ([`Val::Result`],
//!   [`FdArg::Opened`]), with no `unsafe`.
//! - [`scope`] gives a completion [`Ring`]: [`Ring::submit`] runs a
//!   chain, completions come back as an iterator ([`Ring::completions`])
//!   or with a timeout ([`Ring::next_completion`]). The scope does not
//!   return while a chain is in flight, so the buffers a chain borrows
//!   cannot be freed under the kernel (the reasons are in [`scope`]'s
//!   module, `ring`).
//! - [`ThreadletPool`] runs functions as threadlets and joins them; its
//!   `spawn` is `unsafe` ([`ThreadletPool::spawn`] says why no safe
//!   version can exist).
//! - [`PrivateFd`] owns a descriptor of the private fd space.
//! - [`raw`] is the ABI as the kernel takes it: raw pointers, `unsafe`.
//!
//! The ABI is `include/uapi/linux/syslet.h` and `fdspace.h`; this crate
//! carries its own copy of the numbers (as liburing carries its own
//! `io_uring.h`) and host tests check the copy against the headers.
//! System calls go through the `syscall` instruction directly: no libc,
//! and the kernel's answer arrives unfiltered as `Result<_, Errno>`. On a
//! kernel without the subsystem every call fails with `ENOSYS`.
//!
//! ```no_run
//! let mut counter: u64 = 41;
//! assert_eq!(syslet::umem_add(&mut counter, 1), Ok(42));
//! ```
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod abi;
mod chain;
#[cfg(test)]
mod chain_tests;
mod fd;
mod fsdata;
mod handles;
pub mod nr;
mod ops;
pub mod raw;
mod ring;
mod spawn;
mod threadlet;

pub use chain::{AtomId, Buf, BufMut, CellId, Chain, ChainError, FdArg, StatxId, Stop, Val};
pub use fd::{is_private, FromOwnedError, PrivateFd, FDUP_MOVE, NONLINEAR_FD, O_NONLINEAR};
pub use fsdata::{dirents, BadDirent, Dirent, Dirents, Statx, StatxTimestamp, AT_EMPTY_PATH};
pub use fsdata::{AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS};
pub use ops::Whence;
pub use raw::Errno;
pub use ring::{scope, ChainId, Completion, Completions, Rejected, Ring, Submitted, MAX_SLOTS};
pub use spawn::{JoinHandle, ThreadletPool};

/// `umem_add(uptr, inc)`: adds `inc` to `*word` in the kernel and returns
/// the new value (`inc == 0` only reads). Wraps modulo 2^64.
///
/// A sum whose `long` reading lies in `-4095..=-1` cannot be told from an
/// error by the return value; read `*word` back when that matters.
pub fn umem_add(word: &mut u64, inc: u64) -> Result<u64, Errno> {
    // SAFETY: `word` is a valid, exclusive 8-byte location for the call.
    unsafe { raw::umem_add_raw(word as *mut u64 as usize, inc) }
}
