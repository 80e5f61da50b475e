// SPDX-License-Identifier: GPL-2.0

//! `async_exec()` and `async_wait()` through the Rust bindings.

use std::ptr;
use syslet::raw::{async_exec, async_wait, flags, nr, AsyncHead, Atom};
use syslet::Errno;

const NR_GETPID: u64 = 39;
const NR_GETPPID: u64 = 110;
const NR_FORK: u64 = 57;

#[test]
fn a_chain_runs_and_reports_its_last_atom() {
    let mut ring = [ptr::null::<Atom>(); 4];
    let mut head = AsyncHead::new(&mut ring);
    let mut ret = [0i64; 2];
    let mut chain = [
        Atom::new(NR_GETPID, &[], &mut ret[0]),
        Atom::new(NR_GETPPID, &[], &mut ret[1]),
    ];
    chain[0].next = &chain[1];
    // SAFETY: the chain, its results and the ring outlive the call.
    let end = unsafe { async_exec(&chain[0], &mut head) };
    assert_eq!(end, Ok(&chain[1] as *const Atom));
    assert_eq!(ret[0], std::process::id() as i64);
    assert_eq!(ret[1], std::os::unix::process::parent_id() as i64);
    assert_eq!(head.kernel_ring_idx, 0);
}

#[test]
fn a_loop_counts_down_with_umem_add() {
    let mut ring = [ptr::null::<Atom>(); 1];
    let mut head = AsyncHead::new(&mut ring);
    let mut counter: u64 = 50;
    let counter_addr = &mut counter as *mut u64 as u64;
    let minus_one = u64::MAX;
    let mut ret = -1i64;
    let mut atom = Atom::new(nr::UMEM_ADD as u64, &[&counter_addr, &minus_one], &mut ret);
    atom.flags = flags::STOP_ON_ZERO;
    atom.next = &atom;
    // SAFETY: as above; the atom points at itself until the counter is 0.
    let end = unsafe { async_exec(&atom, &mut head) };
    assert_eq!(end, Ok(&atom as *const Atom));
    assert_eq!(counter, 0);
    assert_eq!(ret, 0);
}

#[test]
fn refused_and_unknown_calls_report_in_ret_ptr() {
    let mut ring = [ptr::null::<Atom>(); 1];
    let mut head = AsyncHead::new(&mut ring);
    let mut ret = [0i64; 2];
    let mut chain = [Atom::new(NR_FORK, &[], &mut ret[0]), Atom::new(599, &[], &mut ret[1])];
    chain[0].next = &chain[1];
    // SAFETY: as above.
    unsafe { async_exec(&chain[0], &mut head) }.expect("chain");
    assert_eq!(ret[0], -95, "fork is refused with EOPNOTSUPP");
    assert_eq!(ret[1], -38, "an unknown number gives ENOSYS");
}

#[test]
fn bad_input_is_reported() {
    let mut ring = [ptr::null::<Atom>(); 2];
    let mut head = AsyncHead::new(&mut ring);
    // SAFETY: the kernel must refuse a null atom without touching anything.
    assert_eq!(unsafe { async_exec(ptr::null(), &mut head) }, Err(Errno::EFAULT));
    let mut atom = Atom::new(NR_GETPID, &[], ptr::null_mut());
    atom.flags = 0x100;
    // SAFETY: as above.
    assert_eq!(unsafe { async_exec(&atom, &mut head) }, Err(Errno::EINVAL));
    head.ring_size_bytes = 0;
    atom.flags = 0;
    // SAFETY: as above.
    assert_eq!(unsafe { async_exec(&atom, &mut head) }, Err(Errno::EINVAL));
}

#[test]
fn async_wait_counts_completions_past_the_user_index() {
    let mut ring = [ptr::null::<Atom>(); 4];
    let mut head = AsyncHead::new(&mut ring);
    head.kernel_ring_idx = 3;
    assert_eq!(async_wait(2, 1, &head), Ok(2));
    assert_eq!(async_wait(5, 0, &head), Err(Errno::EINVAL));
}

#[test]
fn a_blocking_chain_goes_async_and_completes_in_the_ring() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    const NR_READ: u64 = 0;

    let (rx, mut tx) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let mut ring = [ptr::null::<Atom>(); 4];
    let mut head = AsyncHead::new(&mut ring);
    let mut buf = [0u8; 16];
    let (fd, bufp, len) = (rx.as_raw_fd() as u64, buf.as_mut_ptr() as u64, buf.len() as u64);
    let mut ret = -1i64;
    let atom = Atom::new(NR_READ, &[&fd, &bufp, &len], &mut ret);
    // SAFETY: the atom, its arguments, `buf`, `ret` and the ring outlive
    // the chain: it completes before they go out of scope (async_wait).
    let end = unsafe { async_exec(&atom, &mut head) };
    assert_eq!(end, Ok(ptr::null()), "nothing to read: the chain went asynchronous");
    tx.write_all(b"ping").expect("write");
    assert_eq!(async_wait(1, 0, &head), Ok(1));
    // SAFETY: the kernel wrote slot 0 before publishing kernel_ring_idx.
    let done = unsafe { ptr::read_volatile(&ring[0]) };
    assert_eq!(done, &atom as *const Atom);
    assert_eq!(ret, 4);
    assert_eq!(&buf[..4], b"ping");
}
