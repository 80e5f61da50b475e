// SPDX-License-Identifier: GPL-2.0

//! Running one atom: read its arguments, check the refusal list and the
//! caller's seccomp filter, call the system call through the kernel's
//! x86-64 system call table ([`dispatch`]).
//!
//! Most atoms take a shorter way: the *direct table*, filled at boot,
//! holds the calls that need no check but seccomp's, so such an atom
//! costs one lookup and one indirect call ([`run`]).
//!
//! Runs in process context on behalf of the submitting task, may sleep,
//! holds no lock. The result is what the call returned, except that the
//! restart codes (`-ERESTART*`), which must never reach user space outside
//! the syscall exit path, become `-EINTR` (as fs/aio.c does).

use crate::{
    abi::Atom,
    policy,
    prim::{current, under_seccomp, SECCOMP_MODE_DEAD},
};
use core::ptr;
use kernel::{bindings, prelude::*};

/// `AUDIT_ARCH_X86_64` (EM_X86_64 | 64-bit | little endian), what seccomp
/// filters see as `seccomp_data.arch` for native calls.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

fn errno(e: u32) -> isize {
    -(e as isize)
}

/// Runs `atom` in the current task, with `regs` as its register frame,
/// and returns the system call's result. `carries()` says whether the
/// task runs the chain for a user context that is not its own (see
/// [`seccomp_check`]); it is asked only when the task is under seccomp.
///
/// Errors (the chain stops, `async_exec()` fails): `EFAULT` when an
/// argument pointer cannot be read; `ECANCELED` when a task that carries
/// the chain for another context is under seccomp ([`seccomp_check`]).
/// A refused call, an unknown number or a
/// call denied by seccomp is not an error of the chain: its result says so.
#[inline(always)]
pub(crate) fn run(atom: &Atom, regs: &mut bindings::pt_regs, carries: impl Fn() -> bool) -> Result<isize> {
    // The common case in four tests: a call of the direct table, its
    // arguments read, no seccomp filter.
    if atom.args_read && !under_seccomp() {
        if let Some(call) = direct_call(atom.nr) {
            set_frame(regs, atom);
            // SAFETY: `regs` is a frame whose argument registers are set,
            // valid for the duration of the call; the direct table holds
            // no call that uses the real user frame or changes the thread.
            let ret = unsafe { call(regs) } as isize;
            return Ok(crate::restart_to_eintr(ret));
        }
    }
    run_checked(atom, regs, carries)
}

/// [`run`] for every other atom: each check in turn.
#[inline(never)]
fn run_checked(atom: &Atom, regs: &mut bindings::pt_regs, carries: impl Fn() -> bool) -> Result<isize> {
    if atom.nr >= policy::NR_LIMIT {
        return Ok(errno(bindings::ENOSYS));
    }
    if policy::refused(atom.nr) {
        return Ok(errno(bindings::EOPNOTSUPP));
    }
    // Read with the atom, in the same user-access window.
    if !atom.args_read {
        return Err(EFAULT);
    }
    if policy::refused_args(atom.nr, &atom.args) {
        return Ok(errno(bindings::EOPNOTSUPP));
    }
    if let Some(denied) = seccomp_check(atom.nr, &atom.args, carries)? {
        return Ok(denied);
    }
    set_frame(regs, atom);
    // SAFETY: `regs` is a frame whose argument registers are set, valid
    // for the duration of the call, and `nr` is below `NR_LIMIT`; calls
    // that use the real user frame (`current_pt_regs()`) or change the
    // thread are refused above.
    let ret = unsafe { dispatch(regs, atom.nr) };
    Ok(crate::restart_to_eintr(ret))
}

/// Sets what an atom's call reads of its frame. The frame is zeroed once
/// per chain (`run_chain`); each atom sets the argument registers,
/// `orig_ax` and `ax`, not all 21 words ([`crate::tuning`]).
#[inline(always)]
fn set_frame(regs: &mut bindings::pt_regs, atom: &Atom) {
    let args = &atom.args;
    regs.di = args[0] as _;
    regs.si = args[1] as _;
    regs.dx = args[2] as _;
    regs.r10 = args[3] as _;
    regs.r8 = args[4] as _;
    regs.r9 = args[5] as _;
    regs.orig_ax = atom.nr as _;
    regs.ax = errno(bindings::ENOSYS) as _;
}

/// Entries of `sys_call_table`.
const TABLE_LEN: usize = bindings::NR_syscalls as usize;

/// The direct table: the calls an atom may make with no check but
/// seccomp's, by number, as `sys_call_table` has them; `None` for the
/// others (refused, checked on their arguments like `futex`, or all of
/// them when `syslet_table_dispatch` is off). Filled once at boot by
/// [`syslet_rs_dispatch_init`], read-only after.
#[link_section = ".data..ro_after_init"]
static mut DIRECT_CALLS: [bindings::sys_call_ptr_t; TABLE_LEN] = [None; TABLE_LEN];

/// The direct table's entry for `nr` (`None` past its end), read with
/// the index clamped without a branch.
#[inline(always)]
fn direct_call(nr: usize) -> bindings::sys_call_ptr_t {
    if nr >= TABLE_LEN {
        return None;
    }
    // SAFETY: the clamped index is within the table, which is written
    // only before user space starts (`syslet_rs_dispatch_init`).
    unsafe { *ptr::addr_of!(DIRECT_CALLS).cast::<bindings::sys_call_ptr_t>().add(index_nospec(nr, TABLE_LEN)) }
}

/// Fills the direct table (syslet/syscalls.c, a late initcall): with
/// `table` (`syslet_table_dispatch`), every call of `sys_call_table`
/// that [`policy`] neither refuses nor checks on its arguments.
///
/// # Safety
///
/// Called once, from the initcall: before user space starts and before
/// `.data..ro_after_init` becomes read-only.
#[no_mangle]
pub unsafe extern "C" fn syslet_rs_dispatch_init(table: bool) {
    if !table {
        return;
    }
    for nr in 0..TABLE_LEN {
        if policy::refused(nr) || policy::has_arg_rules(nr) {
            continue;
        }
        // SAFETY: boot, before user space (see # Safety): nobody reads
        // the table yet, and it is still writable; `nr` is within both
        // tables.
        unsafe {
            let from = ptr::addr_of!(bindings::sys_call_table).cast::<bindings::sys_call_ptr_t>();
            *ptr::addr_of_mut!(DIRECT_CALLS).cast::<bindings::sys_call_ptr_t>().add(nr) = *from.add(nr);
        }
    }
}

/// Calls system call `nr` with the frame `regs`.
///
/// Through `sys_call_table`, one indirect call, as io_uring calls its
/// opcodes, when `syslet_table_dispatch` allows it (syslet/syscalls.c: a
/// kernel running without CPU mitigations, no Spectre-BHI mitigation
/// active); the index is clamped without a branch
/// (`array_index_nospec()`). Otherwise, and for numbers outside the
/// table, through `x64_sys_call()`'s `switch` as the system call entry
/// does (a chain of compares).
///
/// # Safety
///
/// `regs` must be a frame whose argument registers are set, valid for
/// the duration of the call.
#[inline(always)]
unsafe fn dispatch(regs: *const bindings::pt_regs, nr: usize) -> isize {
    const LEN: usize = TABLE_LEN;
    // SAFETY: a boolean set once at boot.
    let table = unsafe { ptr::read_volatile(ptr::addr_of!(bindings::syslet_table_dispatch)) };
    if table && nr < LEN {
        // SAFETY: the clamped index is within the table, which has an
        // entry (`sys_ni_syscall` in gaps) for every number below
        // `NR_syscalls`; the caller vouches for `regs`.
        unsafe {
            let table = ptr::addr_of!(bindings::sys_call_table).cast::<bindings::sys_call_ptr_t>();
            if let Some(call) = *table.add(index_nospec(nr, LEN)) {
                return call(regs) as isize;
            }
        }
    }
    // SAFETY: as above; unknown numbers get `-ENOSYS`.
    unsafe { bindings::x64_sys_call(regs, nr as u32) as isize }
}

/// `array_index_nospec()`: `i` if `i < len`, else 0, computed without a
/// branch (`cmp; sbb` as on x86 C).
#[inline(always)]
fn index_nospec(i: usize, len: usize) -> usize {
    let mask: usize;
    // SAFETY: arithmetic on registers only.
    unsafe {
        core::arch::asm!(
            "cmp {i}, {len}",
            "sbb {mask}, {mask}",
            i = in(reg) i,
            len = in(reg) len,
            mask = out(reg) mask,
            options(pure, nomem, nostack),
        );
    }
    i & mask
}

/// Applies the current task's seccomp policy to system call `nr` as the
/// system call entry would. Returns `None` to run the call, or the result
/// to store instead (`SECCOMP_RET_ERRNO`'s errno, a user notifier's
/// answer, `-ENOSYS` for `SECCOMP_RET_TRAP` and `SECCOMP_RET_TRACE`).
/// A KILL verdict either exits the thread at once (strict mode,
/// `KILL_THREAD` with other threads left) or marks the task dead and
/// queues a fatal SIGSYS (`KILL_PROCESS`): the chain then ends with
/// `EINTR`, and the process dies on its way back to user space, as it
/// would have after a direct call.
///
/// That is right only for the task whose context made the chain. A task
/// that `carries()` a chain for another context (an async thread, or the
/// caller once its context moved to a spare) took it while not under
/// seccomp, so a filter on it now came with TSYNC after the chain
/// started, and the identity contract (Documentation/handoff.md) stops
/// such a chain: its filter judges nothing (a `KILL_THREAD` verdict would
/// end the engine's thread in the middle of a job, not the thread that
/// submitted it), and the chain ends at this atom with `ECANCELED`, unrun,
/// as `Runner::stale` ends it before an atom. Reading the mode here,
/// where the filter would run, leaves no window for a filter that
/// arrives between the check before the atom and the call.
fn seccomp_check(nr: usize, args: &[usize; 6], carries: impl Fn() -> bool) -> Result<Option<isize>> {
    // A filter that TSYNC adds at this moment applies from the next atom
    // on, as to a thread whose call had already passed its entry.
    if !under_seccomp() {
        return Ok(None);
    }
    if carries() {
        return Err(crate::ecanceled());
    }
    let sd = bindings::seccomp_data {
        nr: nr as i32,
        arch: AUDIT_ARCH_X86_64,
        // SAFETY: `current_pt_regs()` of a task in a system call is its
        // user register frame.
        instruction_pointer: unsafe { (*bindings::current_pt_regs()).ip } as u64,
        args: args.map(|a| a as u64),
    };
    // SAFETY: as above. The filter reports a skipped call's result in the
    // frame's `ax` (and TRAP/TRACE roll `ax` back to `orig_ax`), so the
    // frame is saved, pointed at -ENOSYS for the call, and restored.
    unsafe {
        let regs = bindings::current_pt_regs();
        let (saved_ax, saved_orig_ax) = ((*regs).ax, (*regs).orig_ax);
        (*regs).ax = errno(bindings::ENOSYS) as _;
        (*regs).orig_ax = errno(bindings::ENOSYS) as _;
        let verdict = bindings::__secure_computing(&sd);
        let skipped_ret = (*regs).ax as isize;
        (*regs).ax = saved_ax;
        (*regs).orig_ax = saved_orig_ax;
        if (*current()).seccomp.mode == SECCOMP_MODE_DEAD {
            return Err(EINTR);
        }
        Ok(if verdict < 0 { Some(skipped_ret) } else { None })
    }
}
