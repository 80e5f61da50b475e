// SPDX-License-Identifier: GPL-2.0

//! Code shaped for speed beyond what the compiler does by itself.
//!
//! The engine is developed and measured under QEMU TCG, an emulating CPU
//! on which control flow costs more than instructions: a conditional
//! branch ends a translation block, a jump across a page boundary is a
//! lookup, a `rep` string instruction runs one block per iteration, and a
//! user-access window (`stac`/`clac`) returns to the emulator's main loop.
//! Such a CPU made costs visible that real hardware hides in its branch
//! predictor and caches; what is kept is what costs nothing on real
//! hardware or pays there too. The measurements behind each item are in
//! Documentation/syslets.md ("What an inline chain costs under TCG" and
//! "Tuning"), not here.
//!
//! In this module, the two devices that exist only for speed:
//!
//! * [`opaque`]: conditions combined into one branch
//!   (`handoff::can_hand_off()`, asked by every `async_exec()`). On
//!   hardware: the same loads, one predictable branch instead of many.
//! * [`hot_chain`]: the cachemiss path's chain loop, in a `.text.hot`
//!   section that starts on a page boundary, followed by syslet/uaccess.c's
//!   two chain reads (syslet/Makefile links `uaccess.o` after the crate).
//!   On hardware: the hot code is contiguous (fewer i-cache lines and
//!   iTLB entries), as the kernel's own `__hot` functions are.
//!
//! Shapes of code elsewhere that have the same origin, so that a reader
//! knows why they are so (each costs nothing on hardware):
//!
//! * `engine::run_chain()` is never inlined: the per-atom loop stays in
//!   one function of its own;
//! * the atom is read in place into the caller's storage, never moved by
//!   value (`abi::Atom`), and the register frame is zeroed once per chain,
//!   not per atom (`engine`, `invoke::set_frame()`);
//! * `prim::current()` reads `pcpu_hot` inline instead of calling the C
//!   helper;
//! * syslet/uaccess.c reads what `async_exec()` needs in one user-access
//!   window, and each later atom in one;
//! * `invoke::dispatch()` calls through the system call table when the
//!   CPU's mitigations allow it (as io_uring calls its opcodes), through
//!   `x64_sys_call()`'s `switch` otherwise.

use crate::{
    abi::Atom,
    engine::{self, ChainEnd, Runner},
};

/// `cond` as 0 or 1, hidden from the optimizer, which would otherwise
/// turn an `|` of conditions back into a branch per condition.
#[inline(always)]
pub(crate) fn opaque(cond: bool) -> u8 {
    let mut v = cond as u8;
    // SAFETY: an empty instruction that takes and gives back a register.
    unsafe { core::arch::asm!("/* {v} */", v = inout(reg_byte) v, options(pure, nomem, nostack, preserves_flags)) };
    v
}

// The section of the chain loop below starts on a page boundary.
core::arch::global_asm!(
    ".pushsection .text.hot.syslet_chain,\"ax\",@progbits",
    ".balign 4096",
    ".popsection",
);

/// [`engine::run_chain_inline`] in a function of its own at the start of
/// the page-aligned hot section. Under 4 KB in the non-debug kernel
/// (KASAN makes it larger), it never straddles a page. Only the cachemiss
/// path calls it, so there is one instance.
#[inline(never)]
#[link_section = ".text.hot.syslet_chain"]
pub(crate) fn hot_chain<R: Runner>(first: usize, first_atom: &mut Atom, runner: &R) -> ChainEnd {
    engine::run_chain_inline(first, first_atom, runner)
}
