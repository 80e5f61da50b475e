// SPDX-License-Identifier: GPL-2.0

//! The atoms a chain can hold without `unsafe`: each takes its pointers
//! from memory the chain holds and its lengths from the buffers
//! themselves, so whatever the kernel stores in a result cell, no atom can
//! reach memory outside the chain. Anything else goes through the
//! `unsafe` [`Chain::syscall`].

use core::ffi::CStr;
use std::time::Duration;

use crate::chain::{AtomId, Buf, BufMut, CellId, Chain, FdArg, Kind, StatxId, Val, O_CLOEXEC};
use crate::nr;

/// x86-64 system call numbers of the atoms below.
mod sys {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const LSEEK: u64 = 8;
    pub const PREAD64: u64 = 17;
    pub const PWRITE64: u64 = 18;
    pub const NANOSLEEP: u64 = 35;
    pub const GETPID: u64 = 39;
    pub const FSYNC: u64 = 74;
    pub const FDATASYNC: u64 = 75;
    pub const GETPPID: u64 = 110;
    pub const GETDENTS64: u64 = 217;
    pub const OPENAT: u64 = 257;
    pub const STATX: u64 = 332;
}

/// `whence` of [`Chain::lseek`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whence {
    /// `SEEK_SET`.
    Set = 0,
    /// `SEEK_CUR`.
    Cur = 1,
    /// `SEEK_END`.
    End = 2,
}

impl<'a> Chain<'a> {
    /// `getpid()`.
    pub fn getpid(&mut self) -> AtomId {
        self.push(sys::GETPID, &[], Kind::Plain)
    }

    /// `getppid()`.
    pub fn getppid(&mut self) -> AtomId {
        self.push(sys::GETPPID, &[], Kind::Plain)
    }

    /// `read(fd, buf, buf.len())`: the result is the count read.
    pub fn read(&mut self, fd: impl Into<FdArg<'a>>, buf: BufMut) -> AtomId {
        let fd = self.fd_val(fd.into());
        let (p, len) = self.buf_range(buf.chain, buf.index);
        self.push(sys::READ, &[fd, (p.expose_provenance() as u64).into(), (len as u64).into()], Kind::Plain)
    }

    /// `pread64(fd, buf, buf.len(), offset)`.
    pub fn pread(&mut self, fd: impl Into<FdArg<'a>>, buf: BufMut, offset: impl Into<Val>) -> AtomId {
        let fd = self.fd_val(fd.into());
        let (p, len) = self.buf_range(buf.chain, buf.index);
        self.push(sys::PREAD64, &[fd, (p.expose_provenance() as u64).into(), (len as u64).into(), offset.into()], Kind::Plain)
    }

    /// `write(fd, buf, buf.len())`.
    pub fn write(&mut self, fd: impl Into<FdArg<'a>>, buf: impl Into<Buf>) -> AtomId {
        let fd = self.fd_val(fd.into());
        let buf = buf.into();
        let (p, len) = self.buf_range(buf.chain, buf.index);
        self.push(sys::WRITE, &[fd, (p.expose_provenance() as u64).into(), (len as u64).into()], Kind::Plain)
    }

    /// `pwrite64(fd, buf, buf.len(), offset)`.
    pub fn pwrite(&mut self, fd: impl Into<FdArg<'a>>, buf: impl Into<Buf>, offset: impl Into<Val>) -> AtomId {
        let fd = self.fd_val(fd.into());
        let buf = buf.into();
        let (p, len) = self.buf_range(buf.chain, buf.index);
        self.push(sys::PWRITE64, &[fd, (p.expose_provenance() as u64).into(), (len as u64).into(), offset.into()], Kind::Plain)
    }

    /// `lseek(fd, offset, whence)`.
    pub fn lseek(&mut self, fd: impl Into<FdArg<'a>>, offset: impl Into<Val>, whence: Whence) -> AtomId {
        let fd = self.fd_val(fd.into());
        self.push(sys::LSEEK, &[fd, offset.into(), (whence as u64).into()], Kind::Plain)
    }

    /// `fsync(fd)`.
    pub fn fsync(&mut self, fd: impl Into<FdArg<'a>>) -> AtomId {
        let fd = self.fd_val(fd.into());
        self.push(sys::FSYNC, &[fd], Kind::Plain)
    }

    /// `fdatasync(fd)`.
    pub fn fdatasync(&mut self, fd: impl Into<FdArg<'a>>) -> AtomId {
        let fd = self.fd_val(fd.into());
        self.push(sys::FDATASYNC, &[fd], Kind::Plain)
    }

    /// `openat(dir, path, flags | O_CLOEXEC, mode)`. The descriptor it
    /// opens belongs to the chain: later atoms use it as
    /// [`FdArg::Opened`], [`crate::Completion::take_fd`] hands it over, and
    /// the chain closes it otherwise (when dropped or run again). An
    /// `openat` that runs several times in a loop leaks all but its last
    /// descriptor.
    pub fn openat(&mut self, dir: impl Into<FdArg<'a>>, path: &'a CStr, flags: i32, mode: u32) -> AtomId {
        let dir = self.fd_val(dir.into());
        let flags = (flags | O_CLOEXEC) as u32 as u64;
        self.push(sys::OPENAT, &[dir, Self::path_val(path), flags.into(), (mode as u64).into()], Kind::Open)
    }

    /// `statx(dir, path, flags, mask, buf)` into a [`crate::Statx`] the
    /// chain keeps ([`crate::Completion::statx`]).
    pub fn statx(&mut self, dir: impl Into<FdArg<'a>>, path: &'a CStr, flags: i32, mask: u32) -> StatxId {
        let dir = self.fd_val(dir.into());
        let (owned, p) = self.own_statx();
        let vals = [dir, Self::path_val(path), (flags as u32 as u64).into(), (mask as u64).into(), p.into()];
        StatxId { atom: self.push(sys::STATX, &vals, Kind::Plain), owned }
    }

    /// `getdents64(fd, buf, buf.len())`: parse the result with
    /// [`crate::dirents`].
    pub fn getdents64(&mut self, fd: impl Into<FdArg<'a>>, buf: BufMut) -> AtomId {
        let fd = self.fd_val(fd.into());
        let (p, len) = self.buf_range(buf.chain, buf.index);
        self.push(sys::GETDENTS64, &[fd, (p.expose_provenance() as u64).into(), (len as u64).into()], Kind::Plain)
    }

    /// `nanosleep(d, NULL)`: blocks, so the chain goes asynchronous here.
    pub fn nanosleep(&mut self, d: Duration) -> AtomId {
        let ts = self.own_timespec([d.as_secs().min(i64::MAX as u64) as i64, d.subsec_nanos() as i64]);
        self.push(sys::NANOSLEEP, &[ts.into(), 0u64.into()], Kind::Plain)
    }

    /// `umem_add(cell, inc)`: adds `inc` (a constant, or the result of an
    /// earlier atom) to the lent counter; the result is the new value.
    pub fn umem_add(&mut self, cell: CellId, inc: impl Into<Val>) -> AtomId {
        let p = self.cell_ptr(cell) as u64;
        self.push(nr::UMEM_ADD as u64, &[p.into(), inc.into()], Kind::Plain)
    }

    /// Any system call, with value arguments (constants or earlier
    /// results, at most six).
    ///
    /// # Safety
    ///
    /// The kernel runs `nr` with these values. Any of them it takes as a
    /// pointer must point to memory that stays valid, for what the call
    /// does with it, until the chain's completion: memory the chain does
    /// not hold (the chain's lifetime `'a` does not cover it). A result
    /// used as a pointer or a length lets the kernel reach whatever its
    /// value says. Descriptors must be the caller's to use, and calls that
    /// close, replace or unmap what safe code holds (`close`, `dup2`,
    /// `munmap`, `mmap` with `MAP_FIXED`, ...) break the guarantees of
    /// whoever holds it.
    ///
    /// # Panics
    ///
    /// With more than six arguments.
    pub unsafe fn syscall(&mut self, nr: u64, args: &[Val]) -> AtomId {
        self.push(nr, args, Kind::Plain)
    }
}
