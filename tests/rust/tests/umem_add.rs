// SPDX-License-Identifier: GPL-2.0

//! `umem_add()` through the Rust bindings, on the patched kernel.

use syslet::raw::umem_add_raw;
use syslet::{umem_add, Errno};

#[test]
fn zero_inc_reads() {
    let mut w = 41u64;
    assert_eq!(umem_add(&mut w, 0), Ok(41));
    assert_eq!(w, 41);
}

#[test]
fn adds_and_stores() {
    let mut w = 40u64;
    assert_eq!(umem_add(&mut w, 2), Ok(42));
    assert_eq!(w, 42);
}

#[test]
fn wraps_modulo_2_pow_64() {
    let mut w = u64::MAX;
    assert_eq!(umem_add(&mut w, 2), Ok(1));
    assert_eq!(w, 1);
}

#[test]
fn null_is_efault() {
    // SAFETY: the kernel must refuse address 0 with EFAULT.
    assert_eq!(unsafe { umem_add_raw(0, 1) }, Err(Errno::EFAULT));
}

#[test]
fn kernel_address_is_efault() {
    // SAFETY: a kernel-half address; the kernel must refuse it.
    assert_eq!(unsafe { umem_add_raw(0xffff_ffff_8100_0000, 1) }, Err(Errno::EFAULT));
}

#[test]
fn threads_each_count_their_own_word() {
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut w = t * 1000;
                for _ in 0..1000 {
                    umem_add(&mut w, 1).expect("umem_add");
                }
                w
            })
        })
        .collect();
    for (t, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().expect("thread"), t as u64 * 1000 + 1000);
    }
}
