// SPDX-License-Identifier: GPL-2.0

//! The raw layer: the `syscall` instruction, the kernel's error
//! convention, the ABI structures and the system calls as the kernel
//! takes them (raw pointers, `unsafe`). The safe layer of the crate
//! ([`crate::Chain`], [`crate::scope`], [`crate::ThreadletPool`],
//! [`crate::PrivateFd`]) is built on it; tests of the kernel's error paths
//! use it directly.

use core::fmt;

pub use crate::abi::{flags, AsyncHead, Atom};
pub use crate::nr;
pub use crate::threadlet::{threadlet_exec, Threadlet, MIN_STACK};

/// An errno value returned by the kernel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

/// The names [`Errno`]'s `Debug` prints, with their x86-64 values.
const NAMES: [(i32, &str); 16] = [
    (2, "ENOENT"),
    (4, "EINTR"),
    (9, "EBADF"),
    (11, "EAGAIN"),
    (14, "EFAULT"),
    (16, "EBUSY"),
    (20, "ENOTDIR"),
    (22, "EINVAL"),
    (24, "EMFILE"),
    (32, "EPIPE"),
    (38, "ENOSYS"),
    (95, "EOPNOTSUPP"),
    (110, "ETIMEDOUT"),
    (125, "ECANCELED"),
    (1, "EPERM"),
    (13, "EACCES"),
];

impl Errno {
    /// No such file or directory.
    pub const ENOENT: Errno = Errno(2);
    /// Interrupted system call.
    pub const EINTR: Errno = Errno(4);
    /// Bad file descriptor.
    pub const EBADF: Errno = Errno(9);
    /// Try again.
    pub const EAGAIN: Errno = Errno(11);
    /// Bad address.
    pub const EFAULT: Errno = Errno(14);
    /// Device or resource busy.
    pub const EBUSY: Errno = Errno(16);
    /// Invalid argument.
    pub const EINVAL: Errno = Errno(22);
    /// Too many open files.
    pub const EMFILE: Errno = Errno(24);
    /// Function not implemented.
    pub const ENOSYS: Errno = Errno(38);
    /// Operation not supported.
    pub const EOPNOTSUPP: Errno = Errno(95);
    /// Timed out.
    pub const ETIMEDOUT: Errno = Errno(110);
    /// Operation canceled.
    pub const ECANCELED: Errno = Errno(125);

    /// The errno of a raw result: `Some` for `-4095..=-1`, `None` for a value.
    pub fn from_ret(ret: i64) -> Option<Errno> {
        decode(ret as isize).err()
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NAMES.iter().find(|(n, _)| *n == self.0) {
            Some((_, name)) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self, self.0)
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> std::io::Error {
        std::io::Error::from_raw_os_error(e.0)
    }
}

/// Splits a raw return value: `-4095..=-1` is an error, the rest a value.
pub fn decode(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// Issues system call `nr` with six arguments.
///
/// # Safety
///
/// As [`syscall3`].
pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: as in syscall3; r10, r8 and r9 carry arguments four to six.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// `async_exec(atom, head)`: runs the chain that starts at `atom`.
///
/// Returns the atom the chain ended at (it finished without going
/// asynchronous), or null when it went asynchronous (its completion then
/// appears in `head`'s ring). The safe form is [`crate::Ring::submit`].
///
/// # Safety
///
/// Every atom of the chain, every pointer in it and the ring must be valid
/// for the kernel to read (atoms, arguments, head) and write (`ret_ptr`s,
/// arguments of calls that write, the ring) until the chain completes.
pub unsafe fn async_exec(atom: *const Atom, head: *mut AsyncHead) -> Result<*const Atom, Errno> {
    // SAFETY: the caller vouches for the chain and the head.
    decode(unsafe { syscall3(nr::ASYNC_EXEC, atom as usize, head as usize, 0) })
        .map(|a| a as *const Atom)
}

/// `async_wait(min, user_ring_idx, head)`: waits until at least `min`
/// completions lie in the ring past `user_ring_idx`; returns how many do.
/// The kernel's call has no timeout; [`crate::Ring::wait`] adds one.
pub fn async_wait(min: u64, user_ring_idx: u64, head: &AsyncHead) -> Result<u64, Errno> {
    // SAFETY: the kernel only reads `head`, which is valid for the call.
    decode(unsafe { syscall3(nr::ASYNC_WAIT, min as usize, user_ring_idx as usize, head as *const _ as usize) })
        .map(|n| n as u64)
}

/// `umem_add()` on any address, for tests of the error paths.
///
/// # Safety
///
/// The kernel may write 8 bytes at `addr`; the caller must own them, or
/// expect `EFAULT`.
pub unsafe fn umem_add_raw(addr: usize, inc: u64) -> Result<u64, Errno> {
    // SAFETY: the caller vouches for `addr`; the other argument is a value.
    decode(unsafe { syscall3(nr::UMEM_ADD, addr, inc as usize, 0) }).map(|v| v as u64)
}

/// Issues system call `nr` with three arguments.
///
/// # Safety
///
/// The arguments must be valid for system call `nr`: pointers it
/// dereferences must point to memory the caller lets the kernel use.
pub unsafe fn syscall3(nr: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: the `syscall` instruction clobbers only rax (result), rcx and
    // r11; the caller vouches for what the kernel does with the arguments.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_splits_errors_from_values() {
        assert_eq!(decode(0), Ok(0));
        assert_eq!(decode(42), Ok(42));
        assert_eq!(decode(-14), Err(Errno::EFAULT));
        assert_eq!(decode(-4095), Err(Errno(4095)));
        // Just below the error range: a value (a large unsigned result).
        assert_eq!(decode(-4096), Ok(-4096isize as usize));
        assert_eq!(decode(isize::MIN), Ok(1usize << 63));
    }

    #[test]
    fn errno_debug_names_the_common_codes() {
        assert_eq!(format!("{:?}", Errno::ENOSYS), "ENOSYS");
        assert_eq!(format!("{:?}", Errno(5)), "Errno(5)");
        assert_eq!(format!("{}", Errno::ETIMEDOUT), "ETIMEDOUT (110)");
        assert_eq!(Errno::from_ret(-9), Some(Errno::EBADF));
        assert_eq!(Errno::from_ret(3), None);
        assert_eq!(std::io::Error::from(Errno::ENOENT).kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn errno_names_are_unique() {
        for (i, (n, name)) in NAMES.iter().enumerate() {
            assert!(NAMES[i + 1..].iter().all(|(m, o)| m != n && o != name), "{name}");
        }
    }

    #[test]
    fn getpid_through_the_raw_instruction() {
        // SYS_getpid = 39 on x86-64; any kernel answers it.
        // SAFETY: getpid takes no arguments.
        let pid = decode(unsafe { syscall3(39, 0, 0, 0) }).expect("getpid");
        assert_eq!(pid as u32, std::process::id());
        // SAFETY: getppid takes no arguments; the rest are ignored.
        let ppid = decode(unsafe { syscall6(110, [1, 2, 3, 4, 5, 6]) }).expect("getppid");
        assert_eq!(ppid as u32, std::os::unix::process::parent_id());
    }
}
