// SPDX-License-Identifier: GPL-2.0

//! Host tests of the pure parts: how a chain is laid out for the kernel,
//! what submission refuses, the ring's argument checks. Calls that reach
//! the kernel get ENOSYS on the host's stock kernel, which the tests
//! assert; the guest tests (tests/rust) run them for real.

use std::os::fd::AsFd;
use std::time::Duration;

use crate::abi::{flags, Atom};
use crate::chain::NOT_RUN;
use crate::{scope, Chain, ChainError, Errno, Stop, Submitted, Val};

fn next_index(c: &Chain<'_>, a: &Atom) -> Option<usize> {
    let base = c.atoms().as_ptr();
    (!a.next.is_null()).then(|| (a.next as usize - base as usize) / core::mem::size_of::<Atom>())
}

fn arg(a: &Atom, i: usize) -> u64 {
    // SAFETY: the chain is laid out and alive; argument pointers point to
    // its cells.
    unsafe { *a.arg_ptr[i] }
}

#[test]
fn atoms_follow_in_build_order_and_loops_link_back() {
    let mut c = Chain::new();
    let a = c.getpid();
    let b = c.getppid();
    let d = c.getpid();
    c.then(d, a);
    c.prepare(7).unwrap();
    let atoms = c.atoms();
    assert_eq!(atoms.len(), 3);
    assert_eq!(next_index(&c, &atoms[a.index()]), Some(1));
    assert_eq!(next_index(&c, &atoms[b.index()]), Some(2));
    assert_eq!(next_index(&c, &atoms[d.index()]), Some(0), "the loop");
    assert!(atoms.iter().all(|x| x.private as usize == 7));
    assert_eq!((atoms[0].nr, atoms[1].nr), (39, 110));
    c.end_after(a);
    c.prepare(0).unwrap();
    assert_eq!(next_index(&c, &c.atoms()[0]), None);
}

#[test]
fn results_land_in_cells_and_feed_later_atoms() {
    let mut counter = 5u64;
    let mut c = Chain::new();
    let cell = c.cell(&mut counter);
    let a = c.getpid();
    let b = c.umem_add(cell, a);
    let k = c.umem_add(cell, Val::Const(3));
    c.prepare(0).unwrap();
    let atoms = c.atoms();
    let results = c.results_base();
    for (i, x) in atoms.iter().enumerate() {
        // SAFETY: arithmetic within the results array only.
        assert_eq!(x.ret_ptr as *const i64, unsafe { results.add(i) });
    }
    let ub = &atoms[b.index()];
    assert_eq!(ub.nr, 602);
    assert_eq!(ub.arg_ptr[1] as *const i64, atoms[a.index()].ret_ptr as *const i64, "b reads a's result");
    assert!(ub.arg_ptr[2].is_null(), "the kernel reads arguments up to the first null");
    assert_eq!(arg(&atoms[k.index()], 1), 3);
    assert_eq!(arg(ub, 0), arg(&atoms[k.index()], 0), "both add to the one lent cell");
    // Before a run every result reads "did not run".
    assert_eq!(c.result_raw(a.index()), NOT_RUN);
    drop(c);
    assert_eq!(counter, 5);
}

#[test]
fn buffers_pass_their_own_address_and_length() {
    let mut data = [0u8; 100];
    let out = *b"hello";
    let dev_null = std::fs::File::open("/dev/null").unwrap();
    let (addr, oaddr) = (data.as_ptr() as u64, out.as_ptr() as u64);
    let mut c = Chain::new();
    let b = c.buf_mut(&mut data);
    let o = c.buf(&out);
    let r = c.read(dev_null.as_fd(), b);
    let w = c.pwrite(dev_null.as_fd(), o, 4096u64);
    let g = c.getdents64(dev_null.as_fd(), b);
    c.prepare(0).unwrap();
    let atoms = c.atoms();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&dev_null) as u64;
    let rd = &atoms[r.index()];
    assert_eq!((rd.nr, arg(rd, 0), arg(rd, 1), arg(rd, 2)), (0, fd, addr, 100));
    let wr = &atoms[w.index()];
    assert_eq!((wr.nr, arg(wr, 1), arg(wr, 2), arg(wr, 3)), (18, oaddr, 5, 4096));
    assert_eq!((atoms[g.index()].nr, arg(&atoms[g.index()], 2)), (217, 100));
}

#[test]
fn openat_and_statx_take_cwd_and_paths() {
    let mut c = Chain::new();
    let o = c.openat(crate::FdArg::Cwd, c"/etc", 0o200000, 0);
    let r = c.lseek(o, 0u64, crate::Whence::End);
    let s = c.statx(crate::FdArg::Cwd, c"x", 0, crate::STATX_BASIC_STATS);
    c.prepare(0).unwrap();
    let atoms = c.atoms();
    let op = &atoms[o.index()];
    assert_eq!(arg(op, 0) as i64, -100);
    assert_eq!(arg(op, 2) as i32 & crate::chain::O_CLOEXEC, crate::chain::O_CLOEXEC, "always close-on-exec");
    assert_eq!(atoms[r.index()].arg_ptr[0] as *const i64, op.ret_ptr as *const i64, "the opened fd");
    let st = &atoms[s.atom().index()];
    assert_eq!((st.nr, arg(st, 3)), (332, 0x7ff));
    assert_eq!(arg(st, 4), c.statx_ptr(s) as u64);
}

#[test]
fn flags_reach_the_atoms() {
    let mut c = Chain::new();
    let a = c.getpid();
    let b = c.nanosleep(Duration::from_millis(1500));
    let d = c.getppid();
    c.stop_on(a, Stop::NEGATIVE | Stop::ZERO).skip_to_next_on_stop(a).go_async(b).stay_sync(d);
    assert_eq!(c.flags(a), flags::STOP_ON_NEGATIVE | flags::STOP_ON_ZERO | flags::SKIP_TO_NEXT_ON_STOP);
    c.prepare(0).unwrap();
    let atoms = c.atoms();
    assert_eq!(atoms[a.index()].flags, c.flags(a));
    assert_eq!(atoms[b.index()].flags, flags::ASYNC);
    assert_eq!(atoms[d.index()].flags, flags::SYNC);
    // SAFETY: the timespec the chain owns.
    let ts = unsafe { *(arg(&atoms[b.index()], 0) as *const [i64; 2]) };
    assert_eq!(ts, [1, 500_000_000]);
    assert_eq!(arg(&atoms[b.index()], 1), 0, "no remainder pointer");
}

#[test]
fn submission_refuses_bad_chains() {
    assert_eq!(Chain::new().check(), Err(ChainError::Empty));
    let mut c = Chain::new();
    let a = c.getpid();
    c.skip_to_next_on_stop(a);
    assert_eq!(c.check(), Err(ChainError::SkipPastEnd(a)));
    c.getppid();
    assert_eq!(c.check(), Ok(()), "an atom to skip to now");
    let mut c = Chain::new();
    let a = c.getpid();
    c.go_async(a).stay_sync(a);
    assert_eq!(c.check(), Err(ChainError::AsyncAndSync(a)));
    let mut c = Chain::new();
    let a = c.getpid();
    c.fsync(a);
    assert_eq!(c.check(), Err(ChainError::NotAnOpen(a)));
    assert!(ChainError::NotAnOpen(a).to_string().contains("not an openat"));
}

#[test]
fn a_refused_chain_comes_back_without_a_system_call() {
    let got = scope(2, |ring| {
        let mut c = Chain::new();
        let a = c.getpid();
        c.skip_to_next_on_stop(a);
        let rej = ring.submit(c).expect_err("refused");
        assert_eq!(rej.error, ChainError::SkipPastEnd(a));
        assert_eq!(rej.chain.len(), 1);
        ring.in_flight()
    });
    assert_eq!(got, Ok(0));
}

#[test]
#[should_panic(expected = "is not an atom of this chain")]
fn an_atom_of_another_chain_panics() {
    let mut one = Chain::new();
    let a = one.getpid();
    let mut two = Chain::new();
    two.getpid();
    two.then(a, a);
}

#[test]
#[should_panic(expected = "a buffer handle of another chain")]
fn a_buffer_of_another_chain_panics() {
    let mut data = [0u8; 4];
    let mut one = Chain::new();
    let b = one.buf_mut(&mut data);
    let mut two = Chain::new();
    two.write(crate::FdArg::Cwd, b);
}

#[test]
fn stop_conditions_decide_as_the_kernel_does() {
    for (stop, want) in [
        (Stop::NONZERO, [true, false, true]),
        (Stop::ZERO, [false, true, false]),
        (Stop::NEGATIVE, [true, false, false]),
        (Stop::NON_POSITIVE, [true, true, false]),
        (Stop::NEGATIVE | Stop::ZERO, [true, true, false]),
    ] {
        assert_eq!([stop.holds(-5), stop.holds(0), stop.holds(7)], want, "{stop:?}");
    }
}

#[test]
fn not_run_is_no_descriptor_and_no_result() {
    assert_eq!(NOT_RUN as i32, -9, "EBADF as an fd argument");
    assert!(Errno::from_ret(NOT_RUN).is_none(), "not an errno either");
}

#[test]
fn scope_checks_its_ring_size() {
    assert_eq!(scope(0, |_| ()), Err(Errno::EINVAL));
    assert_eq!(scope(crate::MAX_SLOTS + 1, |_| ()), Err(Errno::EINVAL));
    assert_eq!(scope(crate::MAX_SLOTS, |r| r.slots()), Ok(crate::MAX_SLOTS));
}

#[test]
fn waits_that_could_never_end_are_einval() {
    scope(2, |ring| {
        assert_eq!(ring.wait(1, None), Err(Errno::EINVAL));
        assert_eq!(ring.wait(1, Some(Duration::from_millis(1))), Err(Errno::EINVAL));
        assert_eq!(ring.wait(0, Some(Duration::ZERO)), Ok(0));
        assert_eq!(ring.next_completion(None).err(), Some(Errno::EINVAL));
        assert_eq!(ring.completions().count(), 0);
    })
    .unwrap();
}

#[test]
fn submission_runs_or_reports_enosys() {
    // The host kernel: async_exec() is ENOSYS, nothing ran. The patched
    // kernel: getpid ran inline.
    scope(2, |ring| {
        let mut c = Chain::new();
        let a = c.getpid();
        let Ok(Submitted::Done(done)) = ring.submit(c) else { panic!("not done at once") };
        match done.end() {
            Err(Errno::ENOSYS) => assert_eq!(done.result(a), None),
            Ok(end) => {
                assert_eq!(end, a);
                assert_eq!(done.result(a), Some(std::process::id() as i64));
            }
            Err(e) => panic!("{e:?}"),
        }
        assert!(!done.went_async());
        assert_eq!(ring.in_flight(), 0);
    })
    .unwrap();
}

#[test]
fn a_panicking_scope_still_returns_through_the_ring() {
    let r = std::panic::catch_unwind(|| {
        scope(2, |_ring| panic!("inside")).unwrap();
    });
    assert!(r.is_err());
}
