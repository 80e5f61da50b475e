// SPDX-License-Identifier: GPL-2.0

//! Completion ring index arithmetic.
//!
//! Both indices of `struct async_head_user` run freely (they are never
//! reduced modulo the ring size) and wrap modulo 2^64; a slot is an index
//! modulo the number of slots. The completions user space has not
//! consumed are `kernel_ring_idx - user_ring_idx`, computed with wrapping
//! arithmetic so that the wrap of either index is harmless.

/// Completions past `user_idx` when the kernel's index is `kernel_idx`.
pub(crate) fn pending(kernel_idx: usize, user_idx: usize) -> usize {
    kernel_idx.wrapping_sub(user_idx)
}

/// The slot index `idx` lands in, for a ring of `slots` (> 0) slots.
pub(crate) fn slot(idx: usize, slots: usize) -> usize {
    idx % slots
}

/// KUnit entry points.
#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
mod kunit_hooks {
    /// `pending()` for the KUnit suite.
    #[no_mangle]
    pub extern "C" fn syslet_kunit_ring_pending(kernel_idx: usize, user_idx: usize) -> usize {
        super::pending(kernel_idx, user_idx)
    }

    /// `slot()` for the KUnit suite.
    #[no_mangle]
    pub extern "C" fn syslet_kunit_ring_slot(idx: usize, slots: usize) -> usize {
        super::slot(idx, slots)
    }
}
#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
pub use kunit_hooks::{syslet_kunit_ring_pending, syslet_kunit_ring_slot};
