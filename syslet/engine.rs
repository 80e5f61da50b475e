// SPDX-License-Identifier: GPL-2.0

//! `async_exec()` and `async_wait()`: running a chain.
//!
//! # Where a chain runs
//!
//! `async_exec()` hands the chain to an async thread of the calling
//! process ([`pool`](crate::pool)) and waits. Whichever comes first
//! decides what the caller sees:
//!
//! * the chain finishes: `async_exec()` returns the address of its last
//!   atom, and nothing is posted to the ring (it did not go asynchronous);
//! * the async thread is about to sleep in an atom (it blocked), or reaches
//!   an atom flagged `SYSLET_ASYNC`, or the caller gets a signal: the chain
//!   is *detached*. `async_exec()` returns NULL; the async thread finishes
//!   the chain and posts its last atom to the completion ring.
//!
//! That is the "simple model": a thread switch per chain. It is the
//! fallback. The normal path is the cachemiss handoff
//! ([`handoff`](crate::handoff)): the caller runs the chain itself, and
//! only when an atom blocks does a spare thread take over its user
//! context and return NULL, while the caller finishes the chain and
//! posts it. The simple model runs the chains of callers whose context
//! cannot move ([`handoff::can_hand_off`]).
//!
//! A chain runs inline in the caller, never going asynchronous, when the
//! caller is under seccomp filtering (the filter then applies as to a
//! direct call) or when the process already has `syslet_max_threads`
//! async threads busy; `SYSLET_ASYNC` then fails with `-EAGAIN`
//! (`-EOPNOTSUPP` under seccomp).
//!
//! # Bounds
//!
//! A chain may loop forever (`next` pointing back): before every atom the
//! runner checks for a fatal signal, and between atoms it yields the CPU
//! (`cond_resched()`) when the scheduler asks for it and every 64 atoms,
//! so such a chain costs CPU time like a user loop of system calls and
//! ends with the process.

use crate::{
    abi::{self, flags, AfterAtom, AsyncHead, Atom},
    chain::{self, Next},
    handoff, invoke, pool, prim, trace,
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
/// keeps the per-atom loop within a page or two, where an emulating CPU
/// chains its translation blocks directly. Inlined into `async_exec()`
/// (9.5 KB) it cost a chained atom 5-8% more under QEMU TCG
/// (Documentation/syslets.md, "What an inline chain costs under TCG").
/// The cachemiss path, the common one, goes further: its loop is
/// [`run_chain_inline`] in a page-aligned function of its own
/// (`handoff::run_cachemiss_chain`).
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
/// path's hot section, [`handoff`]). Every later atom is read into
/// `atom`, in place.
#[inline(always)]
pub(crate) fn run_chain_inline(first: usize, atom: &mut Atom, runner: &impl Runner) -> ChainEnd {
    let mut end = ChainEnd { last: first, last_flags: 0, result: Ok(()), atoms: 0 };
    let mut addr = first;
    if runner.dying() {
        end.result = Err(EINTR);
        return end;
    }
    // The register frame the atoms' calls get: zeroed once (tracers of
    // `__x64_sys_*` may read more than the argument registers).
    // (A `memset()`; 21 volatile stores in its place made a chained atom
    // 15% dearer under TCG, though they ran once per chain.)
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
struct Inline {
    error: Error,
}

impl Runner for Inline {
    fn go_async(&self) -> Result {
        Err(self.error)
    }
    fn sync_atom(&self, _running: bool) {}
}

/// `async_exec(atom, ahu)`: runs the chain that starts at `atom`.
///
/// Returns the user address of the atom the chain ended at, or 0 when it
/// went asynchronous. Errors (synchronous chains only): `EFAULT` for an
/// unreadable head, ring slot, atom or argument or an unwritable `ret_ptr`
/// (atoms before it have run); `EINVAL` for bad flags or ring geometry;
/// `EAGAIN`/`EOPNOTSUPP` for `SYSLET_ASYNC` when the chain must run
/// inline; `EINTR` when a fatal signal ends the chain.
pub(crate) fn async_exec(first: usize, ahu: usize) -> Result<usize> {
    // Bad heads, rings and first atoms fail here, before any thread is
    // involved.
    let mut buf = MaybeUninit::uninit();
    let first_atom = abi::read_submission(ahu, first, &mut buf)?;
    // Under seccomp the chain runs inline, where the filter applies to
    // each atom exactly as to a direct call (a thread cloned from this
    // task would carry its filter to other submitters' work).
    let seccomp = prim::under_seccomp();
    // Inside a threadlet the chain runs inline too: blocking moves the
    // threadlet's head, not this call.
    let nested = handoff::armed();
    if !seccomp && !nested && handoff::can_hand_off() {
        return handoff::exec(pool::Process::borrow_current()?, first, first_atom, ahu);
    }
    // No async thread to be had (the cap, or creating one failed:
    // RLIMIT_NPROC, memory): the chain runs inline.
    let worker = if seccomp || nested {
        None
    } else {
        pool::Process::of_current().and_then(|p| p.get_worker()).unwrap_or(None)
    };
    trace::submit(first, ahu, worker.is_none());
    let end = match worker.map(|w| w.submit(first, ahu)).transpose()? {
        Some(crate::worker::Submitted::Detached) => return Ok(0),
        Some(crate::worker::Submitted::Finished(end)) => end,
        // No async thread to be had (all busy, or the one we got was
        // exiting), or seccomp: run inline.
        Some(crate::worker::Submitted::Refused) | None => {
            let error = if seccomp { crate::eopnotsupp() } else { EAGAIN };
            let end = run_chain(first, Some(first_atom), &Inline { error });
            if let Ok(p) = pool::Process::of_current() {
                p.stats.chain_inline(end.atoms);
            }
            end
        }
    };
    trace::complete(end.last, &end.result, false);
    end.result.map(|()| end.last)
}

/// `async_wait(min_wait_events, user_ring_idx, ahu)`: waits until at least
/// `min_wait_events` completions lie in the ring past `user_ring_idx`, and
/// returns how many do.
///
/// Errors: `EFAULT`/`EINVAL` for the head as in `async_exec()`; `EINVAL`
/// when `min_wait_events` exceeds the ring's slots (it could never be
/// met); `ERESTARTSYS` when a signal arrives first.
pub(crate) fn async_wait(min: usize, user_idx: usize, ahu: usize) -> Result<usize> {
    let head = AsyncHead::read(ahu)?;
    if min > head.slots {
        return Err(EINVAL);
    }
    let process = pool::Process::of_current()?;
    loop {
        let seen = process.posts();
        let head = AsyncHead::read(ahu)?;
        let ready = crate::ring::pending(head.kernel_ring_idx, user_idx);
        if ready >= min {
            return Ok(ready);
        }
        // Sleeps until a completion is posted in this process, a signal,
        // or 10 ms (another thread may advance the index itself).
        if process.wait_for_post(seen) {
            return Err(ERESTARTSYS);
        }
    }
}

/// Body of `sys_async_exec()`.
#[no_mangle]
pub extern "C" fn syslet_rs_async_exec(atom: usize, ahu: usize) -> isize {
    crate::to_syscall_ret(async_exec(atom, ahu).map(|a| a as isize))
}

/// Body of `sys_async_wait()`.
#[no_mangle]
pub extern "C" fn syslet_rs_async_wait(min_wait_events: usize, user_ring_idx: usize, ahu: usize) -> isize {
    crate::to_syscall_ret(async_wait(min_wait_events, user_ring_idx, ahu).map(|n| n as isize))
}
