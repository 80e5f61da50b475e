// SPDX-License-Identifier: GPL-2.0

//! The structures of `include/uapi/linux/syslet.h`, laid out as the kernel
//! reads them (the tests check sizes and flag values against the header).

use core::ffi::c_void;
use core::ptr;

/// `SYSLET_*` flags of an atom.
pub mod flags {
    /// Go asynchronous at once.
    pub const ASYNC: u64 = 0x01;
    /// Never go asynchronous while this atom runs.
    pub const SYNC: u64 = 0x02;
    /// No completion ring entry if the chain ends here.
    pub const NO_COMPLETE: u64 = 0x04;
    /// Stop if the result is not zero.
    pub const STOP_ON_NONZERO: u64 = 0x08;
    /// Stop if the result is zero.
    pub const STOP_ON_ZERO: u64 = 0x10;
    /// Stop if the result is negative.
    pub const STOP_ON_NEGATIVE: u64 = 0x20;
    /// Stop if the result is zero or negative.
    pub const STOP_ON_NON_POSITIVE: u64 = 0x40;
    /// On a stop condition continue at the atom after this one in memory.
    pub const SKIP_TO_NEXT_ON_STOP: u64 = 0x80;
}

/// `struct syslet_uatom`: one system call of a chain.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Atom {
    /// `flags::*` bits.
    pub flags: u64,
    /// System call number.
    pub nr: u64,
    /// Where the kernel stores the result; null for nowhere.
    pub ret_ptr: *mut i64,
    /// The next atom; null ends the chain.
    pub next: *const Atom,
    /// Pointers to the arguments, up to the first null.
    pub arg_ptr: [*const u64; 6],
    /// For user space; the kernel never touches it.
    pub private: *mut c_void,
}

impl Atom {
    /// An atom calling `nr` with arguments read through `args` (at most
    /// six), storing its result at `ret` (may be null), ending the chain.
    pub fn new(nr: u64, args: &[*const u64], ret: *mut i64) -> Atom {
        assert!(args.len() <= 6, "a system call has at most six arguments");
        let mut arg_ptr = [ptr::null(); 6];
        arg_ptr[..args.len()].copy_from_slice(args);
        Atom { flags: 0, nr, ret_ptr: ret, next: ptr::null(), arg_ptr, private: ptr::null_mut() }
    }
}

/// `struct async_head_user`: a completion ring and its indices.
#[repr(C)]
#[derive(Debug)]
pub struct AsyncHead {
    /// Next slot the kernel fills.
    pub kernel_ring_idx: u64,
    /// Next slot user space consumes.
    pub user_ring_idx: u64,
    /// The ring: `ring_size_bytes / 8` atom pointers.
    pub completion_ring: *mut *const Atom,
    /// Size of the ring in bytes.
    pub ring_size_bytes: u64,
    /// Reserved for the cachemiss handoff (2007: the head's user stack).
    pub head_stack: *mut c_void,
    /// Reserved (2007: the head's user entry point).
    pub head_eip: *mut c_void,
    /// Reserved (2007: a new async thread's user stack).
    pub new_thread_stack: *mut c_void,
    /// Reserved (2007: a new async thread's user entry point).
    pub new_thread_eip: *mut c_void,
}

impl AsyncHead {
    /// A head over `ring`, which must outlive every call that uses the head.
    pub fn new(ring: &mut [*const Atom]) -> AsyncHead {
        AsyncHead {
            kernel_ring_idx: 0,
            user_ring_idx: 0,
            completion_ring: ring.as_mut_ptr(),
            ring_size_bytes: core::mem::size_of_val(ring) as u64,
            head_stack: ptr::null_mut(),
            head_eip: ptr::null_mut(),
            new_thread_stack: ptr::null_mut(),
            new_thread_eip: ptr::null_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    const HEADER: &str = include_str!("../../../include/uapi/linux/syslet.h");

    fn header_define(name: &str) -> Option<u64> {
        HEADER.lines().find_map(|l| {
            let rest = l.strip_prefix("#define ")?.strip_prefix(name)?;
            let v = rest.trim();
            u64::from_str_radix(v.strip_prefix("0x")?, 16).ok()
        })
    }

    #[test]
    fn layouts_match_the_2007_abi_on_x86_64() {
        assert_eq!(size_of::<Atom>(), 88);
        assert_eq!(size_of::<AsyncHead>(), 64);
    }

    #[test]
    fn flags_match_the_uapi_header() {
        for (name, v) in [
            ("SYSLET_ASYNC", flags::ASYNC),
            ("SYSLET_SYNC", flags::SYNC),
            ("SYSLET_NO_COMPLETE", flags::NO_COMPLETE),
            ("SYSLET_STOP_ON_NONZERO", flags::STOP_ON_NONZERO),
            ("SYSLET_STOP_ON_ZERO", flags::STOP_ON_ZERO),
            ("SYSLET_STOP_ON_NEGATIVE", flags::STOP_ON_NEGATIVE),
            ("SYSLET_STOP_ON_NON_POSITIVE", flags::STOP_ON_NON_POSITIVE),
            ("SYSLET_SKIP_TO_NEXT_ON_STOP", flags::SKIP_TO_NEXT_ON_STOP),
        ] {
            assert_eq!(header_define(name), Some(v), "{name}");
        }
    }

    #[test]
    fn atom_new_fills_arguments_in_order() {
        let (a, b) = (1u64, 2u64);
        let atom = Atom::new(39, &[&a, &b], ptr::null_mut());
        assert_eq!(atom.arg_ptr[0], &a as *const u64);
        assert_eq!(atom.arg_ptr[1], &b as *const u64);
        assert!(atom.arg_ptr[2..].iter().all(|p| p.is_null()));
    }

    #[test]
    fn head_new_measures_the_ring() {
        let mut ring = [ptr::null::<Atom>(); 16];
        let head = AsyncHead::new(&mut ring);
        assert_eq!(head.ring_size_bytes, 128);
    }
}
