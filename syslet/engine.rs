// SPDX-License-Identifier: GPL-2.0

//! Running a chain: atom after atom, with its stop conditions, in
//! whatever task a [`Runner`] says (the caller, [`crate::handoff`]; an
//! async thread, [`crate::worker`]). Where a chain runs is decided by
//! `async_exec()` ([`crate::exec`]).
//!
//! # Bounds
//!
//! A chain may loop forever (`next` pointing back): before every atom the
//! runner checks for a fatal signal, and between atoms it yields the CPU
//! (`cond_resched()`) when the scheduler asks for it and every 64 atoms,
//! so such a chain costs CPU time like a user loop of system calls and
//! ends with the process.

use crate::{
    abi::{flags, AfterAtom, Atom},
    chain::{self, Next},
    invoke, prim,
};
use core::mem::MaybeUninit;
use kernel::{bindings, prelude::*};

/// What a chain runner needs from where it runs.
pub(crate) trait Runner {
    /// The chain reached an atom flagged `SYSLET_ASYNC`.
    fn go_async(&self) -> Result;
    /// An atom flagged `SYSLET_SYNC` starts (`true`) or ends (`false`).
    fn sync_atom(&self, running: bool);
    /// An atom's system call is about to run (`sync`: it is flagged
    /// `SYSLET_SYNC`).
    fn arm(&self, _sync: bool) {}
    /// The system call [`Runner::arm`] announced returned.
    fn disarm(&self) {}
    /// Whether the chain must end now: the task is dying.
    fn dying(&self) -> bool {
        prim::fatal_signal_pending()
    }
    /// Whether the chain must stop before its next atom because its
    /// submitting context's identity may have changed since it went
    /// asynchronous ([`crate::identity`]).
    fn stale(&self) -> bool {
        false
    }
    /// Whether the task runs the chain for a user context that is not its
    /// own: an async thread, or the caller after its context moved. Such a
    /// task applies no seccomp filter of its own (`invoke::seccomp_check`).
    fn carries(&self) -> bool {
        false
    }
    /// A signal is pending between two atoms. Here (the chain runs in the
    /// caller) the chain ends with `EINTR` after the atom that ran, so that
    /// the signal is delivered as `async_exec()` returns, as it would be
    /// between two direct calls: a stop stops, a handler runs, a
    /// `ppoll()` atom's temporary mask is restored then. Runners without a
    /// user context stop for job control and the freezer instead.
    fn signalled(&self) -> Result {
        Err(EINTR)
    }
}

/// How a chain ended.
pub(crate) struct ChainEnd {
    /// The atom it ended at: the last one run, or the one that faulted.
    pub(crate) last: usize,
    /// The flags of the last atom read (0 if the first could not be).
    pub(crate) last_flags: usize,
    /// `Ok` when it ended normally; the error otherwise.
    pub(crate) result: Result,
    /// Atoms run.
    pub(crate) atoms: u64,
}

/// Atoms between two `cond_resched()` calls when nobody asks for the CPU
/// (then the scheduler's flag makes the runner yield at once).
const RESCHED_EVERY: u64 = 64;

/// Runs the chain starting at `first` in the current task; `first_atom`
/// is that atom if the caller has already read it.
///
/// Each atom after the first costs one user-access window, which stores
/// the previous result and reads it (see syslet/uaccess.c).
///
/// Never inlined: a function of its own (one per [`Runner`], about 3 KB)
/// keeps the per-atom loop compact ([`crate::tuning`]). The cachemiss
/// path, the common one, runs [`run_chain_inline`] in a page-aligned
/// function of its own (`tuning::hot_chain`).
#[inline(never)]
pub(crate) fn run_chain(first: usize, first_atom: Option<&mut Atom>, runner: &impl Runner) -> ChainEnd {
    let mut buf = MaybeUninit::uninit();
    let atom = match first_atom.map_or_else(|| Atom::read(first, &mut buf), Ok) {
        Ok(a) => a,
        Err(e) => return ChainEnd { last: first, last_flags: 0, result: Err(e), atoms: 0 },
    };
    run_chain_inline(first, atom, runner)
}

/// [`run_chain`] for a caller that has read the first atom into `atom`
/// and puts the loop in a function of its own elsewhere (the cachemiss
/// path's hot section, `tuning::hot_chain`). Every later atom is read into
/// `atom`, in place.
#[inline(always)]
pub(crate) fn run_chain_inline(first: usize, atom: &mut Atom, runner: &impl Runner) -> ChainEnd {
    let mut end = ChainEnd { last: first, last_flags: 0, result: Ok(()), atoms: 0 };
    let mut addr = first;
    if runner.dying() {
        end.result = Err(EINTR);
        return end;
    }
    // The register frame the atoms' calls get: zeroed once per chain, with
    // a `memset()` (tracers of `__x64_sys_*` may read more than the
    // argument registers).
    // SAFETY: `pt_regs` is plain data; all-zero is a valid value.
    let mut frame: bindings::pt_regs = unsafe { core::mem::zeroed() };
    let regs = &mut frame;
    loop {
        end.last = addr;
        end.last_flags = atom.flags;
        if runner.stale() {
            // Not run: stored as its result, and posted.
            let e = crate::ecanceled();
            end.result = store_result(atom.ret_ptr, e.to_errno() as isize).and(Err(e));
            return end;
        }
        let ret = match run_atom(atom, runner, regs) {
            Ok(ret) => ret,
            // Not run, as for `stale()` above: stored as its result.
            Err(e) if e == crate::ecanceled() => {
                end.result = store_result(atom.ret_ptr, e.to_errno() as isize).and(Err(e));
                return end;
            }
            Err(e) => {
                end.result = Err(e);
                return end;
            }
        };
        end.atoms = end.atoms.wrapping_add(1);
        let next = match chain::next(addr, atom, ret) {
            Ok(Next::Atom(n)) => n,
            Ok(Next::End) => 0,
            Err(e) => {
                // Stored as if the chain had ended here.
                end.result = store_result(atom.ret_ptr, ret).and(Err(e));
                return end;
            }
        };
        match Atom::store_and_read(atom.ret_ptr, ret as usize, next, atom) {
            AfterAtom::Next => {}
            AfterAtom::End => return end,
            AfterAtom::StoreFault => {
                end.result = Err(EFAULT);
                return end;
            }
            AfterAtom::NextFault(e) => {
                // A fatal signal ends the chain at the atom that ran;
                // otherwise it ends at the one that could not be read,
                // and `last_flags` stays that of the one that ran.
                if runner.dying() {
                    end.result = Err(EINTR);
                } else {
                    end.last = next;
                    end.result = Err(e);
                }
                return end;
            }
        }
        // Between two atoms: a signal ends the chain at the one that ran
        // (in the caller) or is served (see `Runner::signalled`).
        if prim::signal_pending() {
            if let Err(e) = runner.signalled() {
                end.result = Err(e);
                return end;
            }
        }
        addr = next;
        if prim::attention() || end.atoms % RESCHED_EVERY == 0 {
            // SAFETY: process context, no lock held.
            unsafe { bindings::cond_resched() };
        }
    }
}

/// Runs one atom's system call under `runner`'s rules.
#[inline(always)]
fn run_atom(atom: &Atom, runner: &impl Runner, regs: &mut bindings::pt_regs) -> Result<isize> {
    // One test for the common atom, flagged neither way.
    if atom.flags & (flags::ASYNC | flags::SYNC) == 0 {
        runner.arm(false);
        let ret = invoke::run(atom, regs, || runner.carries());
        runner.disarm();
        return ret;
    }
    if atom.flags & flags::ASYNC != 0 {
        runner.go_async()?;
    }
    let sync = atom.flags & flags::SYNC != 0;
    if sync {
        runner.sync_atom(true);
    }
    runner.arm(sync);
    let ret = invoke::run(atom, regs, || runner.carries());
    runner.disarm();
    if sync {
        runner.sync_atom(false);
    }
    ret
}

/// Stores a result where an atom's `ret_ptr` says (0: nowhere).
fn store_result(ret_ptr: usize, ret: isize) -> Result {
    let mut unused = Atom::empty();
    match Atom::store_and_read(ret_ptr, ret as usize, 0, &mut unused) {
        AfterAtom::StoreFault => Err(EFAULT),
        _ => Ok(()),
    }
}

/// Runs chains in the caller; `SYSLET_ASYNC` fails with `error`.
pub(crate) struct Inline {
    pub(crate) error: Error,
}

impl Runner for Inline {
    fn go_async(&self) -> Result {
        Err(self.error)
    }
    fn sync_atom(&self, _running: bool) {}
}
