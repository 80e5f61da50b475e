// SPDX-License-Identifier: GPL-2.0

//! The private, non-linear fd space (Documentation/fdspace.md): a
//! descriptor with bit 30 set, a scrambled number, close-on-exec, never
//! handed out by calls that return the lowest free number. [`PrivateFd`]
//! owns one, as `OwnedFd` owns any descriptor.

use core::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use crate::nr;
use crate::raw::{decode, syscall3, Errno};

/// `NONLINEAR_FD`: `dup2()`'s target for "a private descriptor, please";
/// every private descriptor has this bit.
pub const NONLINEAR_FD: i32 = 0x4000_0000;
/// `O_NONLINEAR`: an open flag (and a type flag of `pipe2`, `socket`,
/// `socketpair`, `accept4`, `eventfd2`, `epoll_create1`) that makes the
/// new descriptor private; `F_GETFL` reports it for private descriptors.
pub const O_NONLINEAR: i32 = 0o40000000;
/// `FDUP_MOVE`: `fdup()` closes the descriptor it duplicates.
pub const FDUP_MOVE: u32 = 1;

const NR_DUP3: usize = 292;
const NR_FCNTL: usize = 72;
const F_GETFL: usize = 3;
const O_CLOEXEC: usize = 0o2000000;

/// An owned descriptor of the private fd space; closed when dropped.
///
/// ```no_run
/// use std::io::Write;
/// use syslet::PrivateFd;
///
/// let file = std::fs::File::create("/tmp/x")?;
/// let private = PrivateFd::from_owned(file.into())?;   // fdup(FDUP_MOVE)
/// assert!(private.as_raw_fd_private());
/// let mut file = std::fs::File::from(private.into_owned());
/// file.write_all(b"through a private descriptor")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PrivateFd(OwnedFd);

fn fdup(fd: RawFd, flags: u32) -> Result<RawFd, Errno> {
    // SAFETY: fdup() takes two values and touches no user memory.
    decode(unsafe { syscall3(nr::FDUP, fd as u32 as usize, flags as usize, 0) }).map(|f| f as RawFd)
}

/// `Ok` if the kernel has the private fd space, `ENOSYS` if not:
/// `fdup(-1, 0)` is `EBADF` on a kernel with `fdup()`, `ENOSYS` on a
/// stock one. Any other answer is taken as `ENOSYS` too.
fn private_space() -> Result<(), Errno> {
    match fdup(-1, 0) {
        Err(Errno::EBADF) => Ok(()),
        Ok(fd) => {
            // Not fdup(): whatever made a descriptor is not ours to keep.
            // SAFETY: the kernel just made it, nobody else knows it.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
            Err(Errno::ENOSYS)
        }
        Err(_) => Err(Errno::ENOSYS),
    }
}

/// Whether `fd` is a private descriptor (`F_GETFL` reports
/// `O_NONLINEAR`; a kernel without the private space never does).
pub fn is_private(fd: BorrowedFd<'_>) -> Result<bool, Errno> {
    // SAFETY: F_GETFL takes no pointer.
    let fl = decode(unsafe { syscall3(NR_FCNTL, fd.as_raw_fd() as usize, F_GETFL, 0) })?;
    Ok(fl as i32 & O_NONLINEAR != 0)
}

impl PrivateFd {
    /// `fdup(fd, 0)`: a private duplicate of `fd`. Errors: `EMFILE` at
    /// `RLIMIT_NOFILE`, `ENOMEM`, `ENOSYS` (no private space).
    pub fn dup(fd: BorrowedFd<'_>) -> Result<PrivateFd, Errno> {
        let new = fdup(fd.as_raw_fd(), 0)?;
        // SAFETY: the kernel just made this descriptor for us.
        Ok(PrivateFd(unsafe { OwnedFd::from_raw_fd(new) }))
    }

    /// `dup3(fd, NONLINEAR_FD, O_CLOEXEC)`, the same as [`dup`](Self::dup)
    /// through the stock call. `ENOSYS` on a kernel without the private
    /// space, where `dup3()` is not called at all: there it would be an
    /// ordinary `dup3()` onto descriptor number `0x40000000`, replacing
    /// whatever a process with that high an `RLIMIT_NOFILE` has open
    /// there.
    pub fn dup_nonlinear(fd: BorrowedFd<'_>) -> Result<PrivateFd, Errno> {
        private_space()?;
        let raw = fd.as_raw_fd() as usize;
        // SAFETY: dup3() takes three values.
        let new = decode(unsafe { syscall3(NR_DUP3, raw, NONLINEAR_FD as usize, O_CLOEXEC) })?;
        // SAFETY: the kernel just made this descriptor for us.
        let new = unsafe { OwnedFd::from_raw_fd(new as RawFd) };
        match is_private(new.as_fd()) {
            Ok(true) => Ok(PrivateFd(new)),
            _ => Err(Errno::ENOSYS),
        }
    }

    /// Moves `fd` into the private space (`fdup(fd, FDUP_MOVE)`: its
    /// linear number is closed), or wraps it if it is private already.
    /// On error `fd` comes back open.
    pub fn from_owned(fd: OwnedFd) -> Result<PrivateFd, FromOwnedError> {
        match is_private(fd.as_fd()) {
            Ok(true) => return Ok(PrivateFd(fd)),
            Ok(false) => {}
            Err(errno) => return Err(FromOwnedError { fd, errno }),
        }
        match fdup(fd.as_raw_fd(), FDUP_MOVE) {
            Ok(new) => {
                // The kernel closed the old number: do not close it again.
                let _ = fd.into_raw_fd();
                // SAFETY: the kernel just made this descriptor for us.
                Ok(PrivateFd(unsafe { OwnedFd::from_raw_fd(new) }))
            }
            Err(errno) => Err(FromOwnedError { fd, errno }),
        }
    }

    /// Another private descriptor of the same open file (`fdup(fd, 0)`).
    pub fn try_clone(&self) -> Result<PrivateFd, Errno> {
        Self::dup(self.0.as_fd())
    }

    /// Whether the number has [`NONLINEAR_FD`]'s bit, as every private
    /// descriptor's does.
    pub fn as_raw_fd_private(&self) -> bool {
        self.0.as_raw_fd() & NONLINEAR_FD != 0
    }

    /// The descriptor as an `OwnedFd` (it stays private), e.g. for
    /// `File::from`.
    pub fn into_owned(self) -> OwnedFd {
        self.0
    }
}

/// A failed [`PrivateFd::from_owned`]: the descriptor, still open, and why.
#[derive(Debug)]
pub struct FromOwnedError {
    /// The descriptor given, unchanged.
    pub fd: OwnedFd,
    /// `EBADF`, `EMFILE`, `ENOMEM`, `ENOSYS` (no private space).
    pub errno: Errno,
}

impl fmt::Display for FromOwnedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "moving descriptor {} to the private space: {}", self.fd.as_raw_fd(), self.errno)
    }
}

impl std::error::Error for FromOwnedError {}

impl fmt::Debug for PrivateFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateFd({:#x})", self.0.as_raw_fd())
    }
}

impl AsFd for PrivateFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for PrivateFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl IntoRawFd for PrivateFd {
    fn into_raw_fd(self) -> RawFd {
        self.0.into_raw_fd()
    }
}

impl From<PrivateFd> for OwnedFd {
    fn from(p: PrivateFd) -> OwnedFd {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = include_str!("../../../include/uapi/linux/fdspace.h");

    fn header_value(name: &str) -> Option<i64> {
        let key = format!("#define {name}");
        HEADER.lines().find_map(|l| {
            let v = l.strip_prefix(&key)?.trim();
            if v.starts_with('(') {
                return None;
            }
            match v.strip_prefix("0x") {
                Some(h) => i64::from_str_radix(h.trim_end_matches('U'), 16).ok(),
                None if v.starts_with('0') && v.len() > 1 => i64::from_str_radix(&v[1..], 8).ok(),
                None => v.parse().ok(),
            }
        })
    }

    #[test]
    fn constants_match_the_uapi_header() {
        assert_eq!(header_value("NONLINEAR_FD"), Some(NONLINEAR_FD as i64));
        assert_eq!(header_value("O_NONLINEAR"), Some(O_NONLINEAR as i64));
        assert_eq!(header_value("FDUP_MOVE"), Some(FDUP_MOVE as i64));
    }

    #[test]
    fn a_linear_descriptor_is_not_private() {
        let f = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(is_private(f.as_fd()), Ok(false));
    }

    #[test]
    fn dup_is_private_or_enosys_on_a_stock_kernel() {
        // The host kernel has no private space; the patched one does.
        let f = std::fs::File::open("/dev/null").unwrap();
        match PrivateFd::dup(f.as_fd()) {
            Err(Errno::ENOSYS) => {
                assert_eq!(private_space(), Err(Errno::ENOSYS));
                assert_eq!(PrivateFd::dup_nonlinear(f.as_fd()).err(), Some(Errno::ENOSYS));
                let e = PrivateFd::from_owned(f.into()).unwrap_err();
                assert_eq!(e.errno, Errno::ENOSYS);
                assert_eq!(is_private(e.fd.as_fd()), Ok(false), "still open");
            }
            Ok(p) => assert!(p.as_raw_fd_private()),
            Err(e) => panic!("fdup: {e:?}"),
        }
    }

    /// `/proc/self/fd/N`'s target.
    fn target(fd: i32) -> String {
        std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap().to_string_lossy().into_owned()
    }

    #[test]
    fn dup_nonlinear_on_a_stock_kernel_leaves_a_high_descriptor_alone() {
        let null = std::fs::File::open("/dev/null").unwrap();
        let zero = std::fs::File::open("/dev/zero").unwrap();
        if private_space().is_ok() {
            // The patched kernel: dup3() onto NONLINEAR_FD is private.
            let p = PrivateFd::dup_nonlinear(zero.as_fd()).unwrap();
            assert!(p.as_raw_fd_private());
            assert_eq!(target(p.as_raw_fd()), "/dev/zero");
            return;
        }
        // A stock kernel: put /dev/null at number 0x40000000, where the
        // process's RLIMIT_NOFILE allows that (above it dup3() is EBADF:
        // then only the ENOSYS below is checked; the old code gave EBADF
        // there, having called dup3()).
        // SAFETY: dup3() takes three values.
        let r = decode(unsafe { syscall3(NR_DUP3, null.as_raw_fd() as usize, NONLINEAR_FD as usize, O_CLOEXEC) });
        // SAFETY: a descriptor the kernel just made for this test.
        let high = r.ok().map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        match &high {
            Some(h) => assert_eq!(h.as_raw_fd(), NONLINEAR_FD),
            None => assert_eq!(r.err(), Some(Errno::EBADF), "dup3 onto 0x40000000"),
        }
        assert_eq!(PrivateFd::dup_nonlinear(zero.as_fd()).err(), Some(Errno::ENOSYS));
        if let Some(h) = high {
            assert_eq!(target(h.as_raw_fd()), "/dev/null", "not replaced by /dev/zero");
        }
    }
}
