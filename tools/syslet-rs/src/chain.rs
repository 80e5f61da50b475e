// SPDX-License-Identifier: GPL-2.0

//! The chain builder: atoms described by what they touch, laid out as the
//! kernel reads them only when the chain is submitted.
//!
//! Every pointer an atom carries is one of: an argument or result cell the
//! chain allocates itself, a buffer the chain borrows for its lifetime
//! `'a` (`&'a mut [u8]`, `&'a [u8]`, `&'a CStr`, `&'a mut u64`), or a
//! structure the chain owns ([`Statx`], a `timespec`). A result can feed a
//! later atom only where any value is harmless: as a descriptor made by an
//! `openat` atom of the same chain, as an offset, as an increment. What a
//! result may never become is a pointer or a length, so no value the
//! kernel stores can make a later atom reach memory the chain does not
//! hold. The lifetimes that keep the chain's memory alive while the kernel
//! may use it are the ring's ([`crate::scope`]).

use core::ffi::CStr;
use core::fmt;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};
use std::os::fd::AsRawFd;

use crate::abi::{flags, Atom};
use crate::fsdata::Statx;

pub use crate::handles::{AtomId, Buf, BufMut, CellId, ChainError, FdArg, StatxId, Stop, Val};

static NEXT_CHAIN: AtomicU64 = AtomicU64::new(1);

/// What a result cell holds before its atom runs. As a `long` it is far
/// from anything the chain's calls return, and its low 32 bits are -9, so
/// a descriptor argument read from a result whose atom did not run is
/// `EBADF`, never descriptor 0.
pub(crate) const NOT_RUN: i64 = i64::MIN + 0xffff_fff7;

/// `AT_FDCWD`.
const AT_FDCWD: i64 = -100;
/// `O_CLOEXEC`: every descriptor a chain opens has it.
pub(crate) const O_CLOEXEC: i32 = 0o2000000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// The atom built after this one (none for the last: the end).
    Following,
    Atom(u32),
    End,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Plain,
    /// Its result is a descriptor the chain owns until taken or dropped.
    Open,
}

#[derive(Clone, Copy)]
enum Arg {
    Const(u64),
    Result(u32),
}

struct Spec {
    nr: u64,
    flags: u64,
    next: Next,
    args: [Arg; 6],
    nargs: usize,
    kind: Kind,
}

enum Owned {
    Statx(*mut Statx),
    Timespec(*mut [i64; 2]),
}

/// The laid-out chain: atoms, result cells, constant argument cells.
struct Sealed {
    atoms: *mut [Atom],
    results: *mut [i64],
    values: *mut [u64],
}

/// A chain of system calls under construction, or between two runs.
///
/// Atoms run in the order they are built unless told otherwise
/// ([`then`](Chain::then), [`end_after`](Chain::end_after)); each stores
/// its result in a cell of the chain. The chain borrows the memory its
/// atoms use for `'a`; [`crate::Ring::submit`] hands it to the kernel and
/// gives it back, with the results, as a [`crate::Completion`].
///
/// ```
/// use syslet::{Chain, ChainError, Stop};
/// let mut c = Chain::new();
/// let a = c.getpid();
/// let b = c.getppid();
/// c.stop_on(a, Stop::NEGATIVE).skip_to_next_on_stop(b);
/// // The last atom has no atom after it to skip to:
/// assert_eq!(c.check(), Err(ChainError::SkipPastEnd(b)));
/// ```
pub struct Chain<'a> {
    id: u64,
    specs: Vec<Spec>,
    /// Lent buffers: pointers keep their provenance (only the kernel
    /// sees them as numbers); a `buf` (shared) one is never written.
    bufs: Vec<(*mut u8, usize)>,
    cells: Vec<*mut u64>,
    owned: Vec<Owned>,
    taken: Vec<bool>,
    error: Option<ChainError>,
    sealed: Option<Sealed>,
    _borrows: PhantomData<&'a mut [u8]>,
}

impl Default for Chain<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain").field("atoms", &self.specs.len()).finish_non_exhaustive()
    }
}

impl<'a> Chain<'a> {
    /// An empty chain.
    pub fn new() -> Chain<'a> {
        Chain {
            id: NEXT_CHAIN.fetch_add(1, Ordering::Relaxed),
            specs: Vec::new(),
            bufs: Vec::new(),
            cells: Vec::new(),
            owned: Vec::new(),
            taken: Vec::new(),
            error: None,
            sealed: None,
            _borrows: PhantomData,
        }
    }

    /// How many atoms the chain has.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// Whether the chain has no atom.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Lends `buf` to the chain for atoms that write into it (`read`,
    /// `pread`, `getdents64`) or read it. It comes back through
    /// [`crate::Completion::buf`].
    pub fn buf_mut(&mut self, buf: &'a mut [u8]) -> BufMut {
        self.bufs.push((buf.as_mut_ptr(), buf.len()));
        BufMut { chain: self.id, index: self.bufs.len() as u32 - 1 }
    }

    /// Lends `buf` to the chain for atoms that only read it (`write`).
    pub fn buf(&mut self, buf: &'a [u8]) -> Buf {
        self.bufs.push((buf.as_ptr().cast_mut(), buf.len()));
        Buf { chain: self.id, index: self.bufs.len() as u32 - 1 }
    }

    /// Lends a counter to the chain for `umem_add` atoms.
    pub fn cell(&mut self, word: &'a mut u64) -> CellId {
        self.cells.push(word);
        CellId { chain: self.id, index: self.cells.len() as u32 - 1 }
    }

    /// Adds the stop conditions `stop` to `atom`: when one holds for its
    /// result, the chain ends there (or branches, with
    /// [`skip_to_next_on_stop`](Chain::skip_to_next_on_stop)).
    pub fn stop_on(&mut self, atom: AtomId, stop: Stop) -> &mut Self {
        let i = self.index(atom);
        self.unseal();
        self.specs[i].flags |= stop.bits();
        self
    }

    /// On a stop condition of `atom`, go on with the atom built right
    /// after it instead of ending: the chain's branch.
    pub fn skip_to_next_on_stop(&mut self, atom: AtomId) -> &mut Self {
        let i = self.index(atom);
        self.unseal();
        self.specs[i].flags |= flags::SKIP_TO_NEXT_ON_STOP;
        self
    }

    /// After `atom` (when no stop condition holds), run `next`; an earlier
    /// atom makes a loop.
    pub fn then(&mut self, atom: AtomId, next: AtomId) -> &mut Self {
        let (i, j) = (self.index(atom), self.index(next));
        self.unseal();
        self.specs[i].next = Next::Atom(j as u32);
        self
    }

    /// End the chain after `atom` (when it does not branch).
    pub fn end_after(&mut self, atom: AtomId) -> &mut Self {
        let i = self.index(atom);
        self.unseal();
        self.specs[i].next = Next::End;
        self
    }

    /// `SYSLET_ASYNC`: the chain goes asynchronous at `atom` without trying
    /// it inline.
    pub fn go_async(&mut self, atom: AtomId) -> &mut Self {
        let i = self.index(atom);
        self.unseal();
        self.specs[i].flags |= flags::ASYNC;
        self
    }

    /// `SYSLET_SYNC`: the chain never goes asynchronous while `atom` runs.
    pub fn stay_sync(&mut self, atom: AtomId) -> &mut Self {
        let i = self.index(atom);
        self.unseal();
        self.specs[i].flags |= flags::SYNC;
        self
    }

    /// The `SYSLET_*` flags `atom` will run with.
    pub fn flags(&self, atom: AtomId) -> u64 {
        self.specs[self.index(atom)].flags
    }

    /// Checks what [`crate::Ring::submit`] checks, without submitting.
    pub fn check(&self) -> Result<(), ChainError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let last = self.specs.len().checked_sub(1).ok_or(ChainError::Empty)?;
        for (i, s) in self.specs.iter().enumerate() {
            let id = AtomId { chain: self.id, index: i as u32 };
            if s.flags & flags::ASYNC != 0 && s.flags & flags::SYNC != 0 {
                return Err(ChainError::AsyncAndSync(id));
            }
            if i == last && s.flags & flags::SKIP_TO_NEXT_ON_STOP != 0 {
                return Err(ChainError::SkipPastEnd(id));
            }
        }
        Ok(())
    }

    /// The index of `atom`; panics on an id of another chain.
    pub(crate) fn index(&self, atom: AtomId) -> usize {
        assert!(
            atom.chain == self.id && (atom.index as usize) < self.specs.len(),
            "syslet: {atom:?} is not an atom of this chain"
        );
        atom.index as usize
    }

    pub(crate) fn buf_range(&self, chain: u64, index: u32) -> (*mut u8, usize) {
        assert!(chain == self.id, "syslet: a buffer handle of another chain");
        self.bufs[index as usize]
    }

    pub(crate) fn cell_ptr(&self, c: CellId) -> *mut u64 {
        assert!(c.chain == self.id, "syslet: a cell handle of another chain");
        self.cells[c.index as usize]
    }

    pub(crate) fn statx_ptr(&self, s: StatxId) -> *mut Statx {
        self.index(s.atom);
        match self.owned[s.owned as usize] {
            Owned::Statx(p) => p,
            Owned::Timespec(_) => unreachable!("a StatxId names a Statx"),
        }
    }

    pub(crate) fn own_statx(&mut self) -> (u32, u64) {
        let p = Box::into_raw(Box::<Statx>::default());
        self.owned.push(Owned::Statx(p));
        (self.owned.len() as u32 - 1, p as u64)
    }

    pub(crate) fn own_timespec(&mut self, t: [i64; 2]) -> u64 {
        let p = Box::into_raw(Box::new(t));
        self.owned.push(Owned::Timespec(p));
        p as u64
    }

    /// Appends an atom; it follows the previous one unless re-linked.
    pub(crate) fn push(&mut self, nr: u64, vals: &[Val], kind: Kind) -> AtomId {
        assert!(vals.len() <= 6, "a system call has at most six arguments");
        let mut args = [Arg::Const(0); 6];
        for (a, v) in args.iter_mut().zip(vals) {
            *a = match *v {
                Val::Const(c) => Arg::Const(c),
                Val::Result(r) => Arg::Result(self.index(r) as u32),
            };
        }
        self.unseal();
        self.specs.push(Spec { nr, flags: 0, next: Next::Following, args, nargs: vals.len(), kind });
        self.taken.push(false);
        AtomId { chain: self.id, index: self.specs.len() as u32 - 1 }
    }

    /// A descriptor argument as a value (recording misuse for `check`).
    pub(crate) fn fd_val(&mut self, fd: FdArg<'a>) -> Val {
        match fd {
            FdArg::Fd(b) => Val::Const(b.as_raw_fd() as i64 as u64),
            FdArg::Cwd => Val::Const(AT_FDCWD as u64),
            FdArg::Opened(a) => {
                if self.specs[self.index(a)].kind != Kind::Open {
                    self.error.get_or_insert(ChainError::NotAnOpen(a));
                }
                Val::Result(a)
            }
        }
    }

    pub(crate) fn path_val(path: &'a CStr) -> Val {
        Val::Const(path.as_ptr() as u64)
    }

    fn unseal(&mut self) {
        if let Some(s) = self.sealed.take() {
            Self::release(s);
        }
    }

    fn release(s: Sealed) {
        // SAFETY: the three came from Box::into_raw in seal() and the
        // kernel is done with them (the chain is not in flight).
        unsafe {
            drop(Box::from_raw(s.atoms));
            drop(Box::from_raw(s.results));
            drop(Box::from_raw(s.values));
        }
    }

    /// Lays the chain out (once; again after a change) and readies it for
    /// a run: results back to "did not run", descriptors a previous run
    /// opened and nobody took closed, every atom's `private` set to `tag`.
    /// Returns the first atom.
    pub(crate) fn prepare(&mut self, tag: usize) -> Result<*const Atom, ChainError> {
        self.check()?;
        self.close_untaken();
        if self.sealed.is_none() {
            self.sealed = Some(self.seal());
        }
        let s = self.sealed.as_ref().expect("sealed");
        // SAFETY: the chain owns the sealed arrays and is not in flight.
        unsafe {
            (*s.results).fill(NOT_RUN);
            for a in (*s.atoms).iter_mut() {
                a.private = tag as *mut _;
            }
            Ok((*s.atoms).as_ptr())
        }
    }

    fn seal(&self) -> Sealed {
        let n = self.specs.len();
        let nvalues: usize = self
            .specs
            .iter()
            .map(|s| s.args[..s.nargs].iter().filter(|a| matches!(a, Arg::Const(_))).count())
            .sum();
        let empty = Atom::new(0, &[], ptr::null_mut());
        let atoms = Box::into_raw(vec![empty; n].into_boxed_slice());
        let results = Box::into_raw(vec![NOT_RUN; n].into_boxed_slice());
        let values = Box::into_raw(vec![0u64; nvalues].into_boxed_slice());
        // Raw pointers from here on: the kernel will use them, and the
        // boxes are never touched as references while it may.
        let (ab, rb, vb) = (atoms as *mut Atom, results as *mut i64, values as *mut u64);
        let mut k = 0;
        for (i, s) in self.specs.iter().enumerate() {
            // SAFETY: i < n, k < nvalues (counted above), j < n (checked
            // by index() when the atom was linked).
            unsafe {
                let a = &mut *ab.add(i);
                a.flags = s.flags;
                a.nr = s.nr;
                a.ret_ptr = rb.add(i);
                a.next = match s.next {
                    Next::Following if i + 1 < n => ab.add(i + 1),
                    Next::Following | Next::End => ptr::null(),
                    Next::Atom(j) => ab.add(j as usize),
                };
                for (p, arg) in a.arg_ptr.iter_mut().zip(&s.args[..s.nargs]) {
                    *p = match *arg {
                        Arg::Const(v) => {
                            *vb.add(k) = v;
                            k += 1;
                            vb.add(k - 1)
                        }
                        Arg::Result(j) => rb.add(j as usize) as *const u64,
                    };
                }
            }
        }
        Sealed { atoms, results, values }
    }

    /// The result cell of atom `i` as the kernel left it.
    pub(crate) fn result_raw(&self, i: usize) -> i64 {
        match &self.sealed {
            // SAFETY: i < n; the kernel is done with the chain.
            Some(s) => unsafe { ptr::read_volatile((s.results as *const i64).add(i)) },
            None => NOT_RUN,
        }
    }

    /// The index of the atom at `p`, if it is one of this chain's.
    pub(crate) fn atom_at(&self, p: *const Atom) -> Option<u32> {
        let s = self.sealed.as_ref()?;
        let base = s.atoms as *const Atom as usize;
        let off = (p as usize).checked_sub(base)?;
        let i = off / core::mem::size_of::<Atom>();
        (off % core::mem::size_of::<Atom>() == 0 && i < self.specs.len()).then_some(i as u32)
    }

    /// The laid-out atoms (for the layout tests).
    #[cfg(test)]
    pub(crate) fn atoms(&self) -> &[Atom] {
        // SAFETY: not in flight in the tests that look.
        self.sealed.as_ref().map_or(&[], |s| unsafe { &*s.atoms })
    }

    #[cfg(test)]
    pub(crate) fn results_base(&self) -> *const i64 {
        self.sealed.as_ref().map_or(ptr::null(), |s| s.results as *const i64)
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn kind(&self, i: usize) -> Kind {
        self.specs[i].kind
    }

    pub(crate) fn take_mark(&mut self, i: usize) -> bool {
        !core::mem::replace(&mut self.taken[i], true)
    }

    fn close_untaken(&mut self) {
        for i in 0..self.specs.len() {
            let r = self.result_raw(i);
            if self.specs[i].kind == Kind::Open && !self.taken[i] && (0..=i32::MAX as i64).contains(&r) {
                // SAFETY: the chain's openat made this descriptor and
                // nobody took it; closing it touches no memory.
                unsafe { crate::raw::syscall3(3, r as usize, 0, 0) };
            }
            self.taken[i] = false;
        }
    }
}

impl Drop for Chain<'_> {
    fn drop(&mut self) {
        self.close_untaken();
        self.unseal();
        for o in self.owned.drain(..) {
            // SAFETY: from Box::into_raw; the chain is not in flight (a
            // chain in flight is owned by its ring, which drops it only
            // after its completion).
            unsafe {
                match o {
                    Owned::Statx(p) => drop(Box::from_raw(p)),
                    Owned::Timespec(p) => drop(Box::from_raw(p)),
                }
            }
        }
    }
}
