// SPDX-License-Identifier: GPL-2.0

//! What the file-system atoms of a chain fill in: `struct statx` and the
//! `linux_dirent64` records of `getdents64()`, with a safe parser for the
//! latter (pure code, tested on the host).

use core::ffi::CStr;

/// `struct statx_timestamp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatxTimestamp {
    /// Seconds since the epoch.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: u32,
    reserved: i32,
}

/// `struct statx` of `<linux/stat.h>` (256 bytes; the kernel writes all of
/// them). Fields after `stx_mnt_id` are kept as padding.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statx {
    /// `STATX_*` bits of the fields filled in.
    pub stx_mask: u32,
    /// Block size for I/O.
    pub stx_blksize: u32,
    /// `STATX_ATTR_*` flags.
    pub stx_attributes: u64,
    /// Hard links.
    pub stx_nlink: u32,
    /// Owner.
    pub stx_uid: u32,
    /// Group.
    pub stx_gid: u32,
    /// File type and mode.
    pub stx_mode: u16,
    spare0: u16,
    /// Inode number.
    pub stx_ino: u64,
    /// Size in bytes.
    pub stx_size: u64,
    /// 512-byte blocks allocated.
    pub stx_blocks: u64,
    /// Attributes the file system supports.
    pub stx_attributes_mask: u64,
    /// Last access.
    pub stx_atime: StatxTimestamp,
    /// Creation.
    pub stx_btime: StatxTimestamp,
    /// Last status change.
    pub stx_ctime: StatxTimestamp,
    /// Last modification.
    pub stx_mtime: StatxTimestamp,
    /// Device (for device files): major.
    pub stx_rdev_major: u32,
    /// Device (for device files): minor.
    pub stx_rdev_minor: u32,
    /// Containing device: major.
    pub stx_dev_major: u32,
    /// Containing device: minor.
    pub stx_dev_minor: u32,
    /// Mount id.
    pub stx_mnt_id: u64,
    rest: [u64; 13],
}

impl Default for Statx {
    fn default() -> Statx {
        // All-zero is a valid value of every field.
        Statx {
            stx_mask: 0,
            stx_blksize: 0,
            stx_attributes: 0,
            stx_nlink: 0,
            stx_uid: 0,
            stx_gid: 0,
            stx_mode: 0,
            spare0: 0,
            stx_ino: 0,
            stx_size: 0,
            stx_blocks: 0,
            stx_attributes_mask: 0,
            stx_atime: StatxTimestamp::default(),
            stx_btime: StatxTimestamp::default(),
            stx_ctime: StatxTimestamp::default(),
            stx_mtime: StatxTimestamp::default(),
            stx_rdev_major: 0,
            stx_rdev_minor: 0,
            stx_dev_major: 0,
            stx_dev_minor: 0,
            stx_mnt_id: 0,
            rest: [0; 13],
        }
    }
}

/// `STATX_BASIC_STATS`: the fields `stat()` returns.
pub const STATX_BASIC_STATS: u32 = 0x7ff;
/// `AT_SYMLINK_NOFOLLOW`.
pub const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
/// `AT_EMPTY_PATH`: the call acts on the directory descriptor itself.
pub const AT_EMPTY_PATH: i32 = 0x1000;

/// One record of a `getdents64()` buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dirent<'b> {
    /// Inode number.
    pub ino: u64,
    /// `DT_*` type (`DT_DIR` 4, `DT_REG` 8, `DT_LNK` 10, `DT_UNKNOWN` 0).
    pub kind: u8,
    /// The name, without its NUL.
    pub name: &'b CStr,
}

/// A malformed `getdents64()` buffer: a record runs past the end, is
/// shorter than its header, or has no NUL in its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDirent {
    /// Byte offset of the bad record.
    pub offset: usize,
}

/// The records of the first `len` bytes of a `getdents64()` buffer
/// (`len` is the call's result), as an iterator. `.` and `..` are
/// included, as the kernel returns them.
///
/// ```
/// // One record: ino 7, type DT_REG, name "a" (header 19 bytes, name
/// // and NUL 2, padded to 24).
/// let mut rec = [0u8; 24];
/// rec[..8].copy_from_slice(&7u64.to_ne_bytes());
/// rec[16..18].copy_from_slice(&24u16.to_ne_bytes());
/// rec[18] = 8;
/// rec[19] = b'a';
/// let all: Vec<_> = syslet::dirents(&rec).collect::<Result<_, _>>().unwrap();
/// assert_eq!(all.len(), 1);
/// assert_eq!((all[0].ino, all[0].kind, all[0].name.to_bytes()), (7, 8, &b"a"[..]));
/// ```
pub fn dirents(buf: &[u8]) -> Dirents<'_> {
    Dirents { buf, off: 0 }
}

/// Iterator of [`dirents`].
#[derive(Clone, Debug)]
pub struct Dirents<'b> {
    buf: &'b [u8],
    off: usize,
}

/// `d_ino` 8, `d_off` 8, `d_reclen` 2, `d_type` 1.
const HEADER: usize = 19;

impl<'b> Iterator for Dirents<'b> {
    type Item = Result<Dirent<'b>, BadDirent>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.off..).filter(|r| !r.is_empty())?;
        let bad = BadDirent { offset: self.off };
        let reclen = match rest.get(16..18) {
            Some(b) => u16::from_ne_bytes([b[0], b[1]]) as usize,
            None => 0,
        };
        if reclen <= HEADER || reclen > rest.len() {
            self.off = self.buf.len();
            return Some(Err(bad));
        }
        let rec = &rest[..reclen];
        let Ok(name) = CStr::from_bytes_until_nul(&rec[HEADER..]) else {
            self.off = self.buf.len();
            return Some(Err(bad));
        };
        let mut ino = [0u8; 8];
        ino.copy_from_slice(&rec[..8]);
        self.off += reclen;
        Some(Ok(Dirent { ino: u64::from_ne_bytes(ino), kind: rec[18], name }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    fn record(ino: u64, kind: u8, name: &[u8]) -> Vec<u8> {
        let len = (HEADER + name.len() + 1).next_multiple_of(8);
        let mut r = vec![0u8; len];
        r[..8].copy_from_slice(&ino.to_ne_bytes());
        r[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
        r[18] = kind;
        r[HEADER..HEADER + name.len()].copy_from_slice(name);
        r
    }

    #[test]
    fn statx_layout_is_the_kernels() {
        assert_eq!(size_of::<Statx>(), 256);
        assert_eq!(offset_of!(Statx, stx_mode), 28);
        assert_eq!(offset_of!(Statx, stx_ino), 32);
        assert_eq!(offset_of!(Statx, stx_size), 40);
        assert_eq!(offset_of!(Statx, stx_atime), 64);
        assert_eq!(offset_of!(Statx, stx_mtime), 112);
        assert_eq!(offset_of!(Statx, stx_rdev_major), 128);
        assert_eq!(offset_of!(Statx, stx_mnt_id), 144);
    }

    #[test]
    fn parses_several_records() {
        let mut buf = record(1, 4, b".");
        buf.extend(record(2, 4, b".."));
        buf.extend(record(99, 8, b"a-long-file-name"));
        let v: Vec<_> = dirents(&buf).map(|d| d.unwrap()).collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].ino, 99);
        assert_eq!(v[2].kind, 8);
        assert_eq!(v[2].name.to_bytes(), b"a-long-file-name");
        assert_eq!(v[1].name.to_bytes(), b"..");
    }

    #[test]
    fn empty_buffer_has_no_records() {
        assert_eq!(dirents(&[]).count(), 0);
    }

    #[test]
    fn malformed_records_are_errors_and_end_the_walk() {
        let good = record(5, 8, b"x");
        // Truncated: the record says 24 bytes, 20 are there.
        let mut it = dirents(&good[..20]);
        assert_eq!(it.next(), Some(Err(BadDirent { offset: 0 })));
        assert_eq!(it.next(), None);
        // A length no longer than the header.
        let mut short = good.clone();
        short[16..18].copy_from_slice(&19u16.to_ne_bytes());
        assert_eq!(dirents(&short).next(), Some(Err(BadDirent { offset: 0 })));
        // No NUL in the name.
        let mut nonul = good.clone();
        nonul[HEADER..].fill(b'z');
        let mut buf = record(1, 4, b".");
        buf.extend(nonul);
        let v: Vec<_> = dirents(&buf).collect();
        assert!(v[0].is_ok());
        assert_eq!(v[1], Err(BadDirent { offset: 24 }));
        assert_eq!(v.len(), 2);
        // Fewer bytes than a length field.
        assert_eq!(dirents(&good[..10]).next(), Some(Err(BadDirent { offset: 0 })));
    }
}
