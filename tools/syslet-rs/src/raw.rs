// SPDX-License-Identifier: GPL-2.0

//! The `syscall` instruction and the kernel's error convention.

use core::fmt;

/// An errno value returned by the kernel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// Bad address.
    pub const EFAULT: Errno = Errno(14);
    /// Device or resource busy.
    pub const EBUSY: Errno = Errno(16);
    /// Invalid argument.
    pub const EINVAL: Errno = Errno(22);
    /// Function not implemented.
    pub const ENOSYS: Errno = Errno(38);
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Errno::EFAULT => write!(f, "EFAULT"),
            Errno::EBUSY => write!(f, "EBUSY"),
            Errno::EINVAL => write!(f, "EINVAL"),
            Errno::ENOSYS => write!(f, "ENOSYS"),
            Errno(n) => write!(f, "Errno({n})"),
        }
    }
}

/// Splits a raw return value: `-4095..=-1` is an error, the rest a value.
pub(crate) fn decode(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as usize)
    }
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
    }

    #[test]
    fn getpid_through_the_raw_instruction() {
        // SYS_getpid = 39 on x86-64; any kernel answers it.
        // SAFETY: getpid takes no arguments.
        let pid = decode(unsafe { syscall3(39, 0, 0, 0) }).expect("getpid");
        assert_eq!(pid as u32, std::process::id());
    }
}
