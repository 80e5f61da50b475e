// SPDX-License-Identifier: GPL-2.0

//! The handles a [`Chain`](crate::Chain) gives out and takes: atoms, lent
//! buffers and cells, value and descriptor arguments, stop conditions,
//! and why a chain is refused.

use core::fmt;
use core::ops::BitOr;
use std::os::fd::BorrowedFd;

use crate::abi::flags;

/// One atom of a [`Chain`](crate::Chain): what its builder methods return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AtomId {
    pub(crate) chain: u64,
    pub(crate) index: u32,
}

impl AtomId {
    /// The atom's place in the chain: 0 for the first atom built.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// A buffer the kernel may write (and read), lent to a chain by
/// [`Chain::buf_mut`](crate::Chain::buf_mut).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufMut {
    pub(crate) chain: u64,
    pub(crate) index: u32,
}

/// A buffer the kernel only reads, lent by [`Chain::buf`](crate::Chain::buf) (or a
/// [`BufMut`], which converts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buf {
    pub(crate) chain: u64,
    pub(crate) index: u32,
}

impl From<BufMut> for Buf {
    fn from(b: BufMut) -> Buf {
        Buf { chain: b.chain, index: b.index }
    }
}

/// A `u64` the kernel adds to (`umem_add`), lent by [`Chain::cell`](crate::Chain::cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellId {
    pub(crate) chain: u64,
    pub(crate) index: u32,
}

/// A `statx` atom and the [`Statx`](crate::Statx) the chain keeps for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatxId {
    pub(crate) atom: AtomId,
    pub(crate) owned: u32,
}

impl StatxId {
    /// The atom, for stop conditions and links.
    pub fn atom(self) -> AtomId {
        self.atom
    }
}

/// A value argument: a constant, or the result of an earlier atom (the
/// kernel reads it when the atom runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    /// A constant.
    Const(u64),
    /// The result the atom stored last, as the kernel left it.
    Result(AtomId),
}

impl From<u64> for Val {
    fn from(v: u64) -> Val {
        Val::Const(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Const(v as u64)
    }
}

impl From<AtomId> for Val {
    fn from(a: AtomId) -> Val {
        Val::Result(a)
    }
}

/// A descriptor argument.
#[derive(Clone, Copy, Debug)]
pub enum FdArg<'a> {
    /// A descriptor the chain borrows for its lifetime.
    Fd(BorrowedFd<'a>),
    /// `AT_FDCWD`, for the directory argument of `openat` and `statx`.
    Cwd,
    /// The descriptor an `openat` atom of the same chain opened. Before
    /// that atom ran, or when it failed, the call gets `EBADF`.
    Opened(AtomId),
}

impl<'a> From<BorrowedFd<'a>> for FdArg<'a> {
    fn from(fd: BorrowedFd<'a>) -> FdArg<'a> {
        FdArg::Fd(fd)
    }
}

impl<'a> From<AtomId> for FdArg<'a> {
    fn from(a: AtomId) -> FdArg<'a> {
        FdArg::Opened(a)
    }
}

/// Stop conditions on an atom's result (signed), combined with `|`.
///
/// ```
/// use syslet::Stop;
/// let s = Stop::NEGATIVE | Stop::ZERO;
/// assert!(s.holds(-4) && s.holds(0) && !s.holds(1));
/// assert_eq!(s, Stop::NON_POSITIVE | Stop::NEGATIVE);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Stop(u64);

impl Stop {
    /// `SYSLET_STOP_ON_NONZERO`.
    pub const NONZERO: Stop = Stop(flags::STOP_ON_NONZERO);
    /// `SYSLET_STOP_ON_ZERO`.
    pub const ZERO: Stop = Stop(flags::STOP_ON_ZERO);
    /// `SYSLET_STOP_ON_NEGATIVE`: stop on an error.
    pub const NEGATIVE: Stop = Stop(flags::STOP_ON_NEGATIVE);
    /// `SYSLET_STOP_ON_NON_POSITIVE`: stop on an error or zero (end of
    /// file).
    pub const NON_POSITIVE: Stop = Stop(flags::STOP_ON_NON_POSITIVE);

    /// Whether the condition holds for `result`, as the kernel decides it.
    pub fn holds(self, result: i64) -> bool {
        (self.0 & flags::STOP_ON_NONZERO != 0 && result != 0)
            || (self.0 & flags::STOP_ON_ZERO != 0 && result == 0)
            || (self.0 & flags::STOP_ON_NEGATIVE != 0 && result < 0)
            || (self.0 & flags::STOP_ON_NON_POSITIVE != 0 && result <= 0)
    }

    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    fn normal(self) -> (bool, bool, bool) {
        // (stops on <0, on 0, on >0): what makes two sets equal.
        (self.holds(-1), self.holds(0), self.holds(1))
    }
}

/// Two sets are equal when they stop on the same results.
impl PartialEq for Stop {
    fn eq(&self, o: &Stop) -> bool {
        self.normal() == o.normal()
    }
}

impl Eq for Stop {}

impl BitOr for Stop {
    type Output = Stop;
    fn bitor(self, o: Stop) -> Stop {
        Stop(self.0 | o.0)
    }
}

/// Why a chain was not submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainError {
    /// The chain has no atom.
    Empty,
    /// `SKIP_TO_NEXT_ON_STOP` on the last atom: the kernel would go on at
    /// the memory after the chain.
    SkipPastEnd(AtomId),
    /// Both [`Chain::go_async`](crate::Chain::go_async) and [`Chain::stay_sync`](crate::Chain::stay_sync) on one atom.
    AsyncAndSync(AtomId),
    /// [`FdArg::Opened`] of an atom that is not an `openat`.
    NotAnOpen(AtomId),
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainError::Empty => write!(f, "the chain has no atom"),
            ChainError::SkipPastEnd(a) => {
                write!(f, "atom {} is the last and skips to the next on stop", a.index)
            }
            ChainError::AsyncAndSync(a) => write!(f, "atom {} is both async and sync", a.index),
            ChainError::NotAnOpen(a) => {
                write!(f, "atom {} is used as a descriptor but is not an openat", a.index)
            }
        }
    }
}

impl std::error::Error for ChainError {}

