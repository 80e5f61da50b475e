// SPDX-License-Identifier: GPL-2.0

//! PrivateFd on the patched kernel: the three ways in, what the
//! descriptor is, closing, and the error paths (EBADF, EMFILE at
//! RLIMIT_NOFILE where a move still works).

use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use syslet::raw::syscall6;
use syslet::{is_private, Errno, PrivateFd, NONLINEAR_FD};

fn fd_is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD takes no pointer.
    unsafe { syslet::raw::syscall3(72, fd as usize, 1, 0) >= 0 }
}

fn temp(name: &str) -> std::fs::File {
    let path = format!("/tmp/syslet-rs-fd-{}-{name}", std::process::id());
    let mut f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path).unwrap();
    f.write_all(b"private").unwrap();
    f.rewind().unwrap();
    f
}

fn check_private(p: &PrivateFd) {
    assert!(p.as_raw_fd_private());
    assert_ne!(p.as_raw_fd() & NONLINEAR_FD, 0);
    assert_eq!(is_private(p.as_fd()), Ok(true));
}

#[test]
fn fdup_gives_a_private_descriptor_of_the_same_file() {
    let f = temp("dup");
    let p = PrivateFd::dup(f.as_fd()).expect("fdup");
    check_private(&p);
    assert_eq!(is_private(f.as_fd()), Ok(false));
    let mut s = String::new();
    std::fs::File::from(p.into_owned()).read_to_string(&mut s).unwrap();
    assert_eq!(s, "private");
}

#[test]
fn dup_to_nonlinear_fd_is_private_too() {
    let f = temp("dup3");
    let p = PrivateFd::dup_nonlinear(f.as_fd()).expect("dup3");
    check_private(&p);
}

#[test]
fn from_owned_moves_the_descriptor() {
    let f = temp("move");
    let old = f.as_raw_fd();
    let p = PrivateFd::from_owned(OwnedFd::from(f)).expect("move");
    check_private(&p);
    assert!(!fd_is_open(old), "the linear number is closed");
    let raw = p.as_raw_fd();
    let same = PrivateFd::from_owned(p.into_owned()).expect("private already");
    assert_eq!(same.as_raw_fd(), raw, "a private descriptor is wrapped as it is");
}

#[test]
fn clones_are_distinct_and_drop_closes() {
    let f = temp("clone");
    let p = PrivateFd::dup(f.as_fd()).unwrap();
    let q = p.try_clone().unwrap();
    check_private(&q);
    assert_ne!(p.as_raw_fd(), q.as_raw_fd());
    let raw = q.as_raw_fd();
    drop(q);
    assert!(!fd_is_open(raw));
    assert!(fd_is_open(p.as_raw_fd()));
}

#[test]
fn a_descriptor_that_is_not_open_is_ebadf() {
    // SAFETY: the number is not open; the calls only look it up.
    let bad = unsafe { BorrowedFd::borrow_raw(999_999) };
    assert_eq!(PrivateFd::dup(bad).err(), Some(Errno::EBADF));
    assert_eq!(PrivateFd::dup_nonlinear(bad).err(), Some(Errno::EBADF));
    assert_eq!(is_private(bad), Err(Errno::EBADF));
}

fn nofile(new: Option<[u64; 2]>) -> [u64; 2] {
    let mut old = [0u64; 2];
    let newp = new.as_ref().map_or(0, |n| n.as_ptr() as usize);
    // SAFETY: prlimit64(0, RLIMIT_NOFILE, new, old): two 16-byte structs.
    let r = unsafe { syscall6(302, [0, 7, newp, old.as_mut_ptr() as usize, 0, 0]) };
    assert_eq!(r, 0, "prlimit64");
    old
}

#[test]
fn at_the_limit_a_dup_is_emfile_and_a_move_still_works() {
    let f = temp("limit");
    let keep = nofile(None);
    // Count the open descriptors: the lowest free number after filling.
    let probe = PrivateFd::dup(f.as_fd()).unwrap();
    let mut open = 0u64;
    for fd in 0..4096 {
        if fd_is_open(fd) {
            open += 1;
        }
    }
    open += 1; // the private one above
    nofile(Some([open, keep[1]]));
    let dup = PrivateFd::dup(f.as_fd()).err();
    let moved = PrivateFd::from_owned(OwnedFd::from(f));
    nofile(Some(keep));
    assert_eq!(dup, Some(Errno::EMFILE));
    check_private(&moved.expect("a move opens no descriptor"));
    drop(probe);
}
