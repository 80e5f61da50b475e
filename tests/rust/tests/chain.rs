// SPDX-License-Identifier: GPL-2.0

//! The safe chain API on the patched kernel: chains that finish inline and
//! that go asynchronous, stop conditions, branches, loops, results feeding
//! later atoms, descriptors a chain opens, the ring's iterator and waits
//! with a timeout, and the scope waiting for chains nobody reaped.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};
use syslet::{scope, Chain, Completion, Errno, FdArg, Ring, Stop, Submitted, Val, Whence};

const SECOND: Option<Duration> = Some(Duration::from_secs(5));

/// The completion of a chain, inline or from the ring.
fn run<'s>(ring: &Ring<'s, '_>, chain: Chain<'s>) -> Completion<'s> {
    match ring.submit(chain).expect("a valid chain") {
        Submitted::Done(c) => c,
        Submitted::InFlight(id) => {
            let c = ring.next_completion(SECOND).expect("completion");
            assert_eq!(c.id(), id);
            c
        }
    }
}

fn fd_is_open(fd: i32) -> bool {
    // SAFETY: F_GETFD takes no pointer.
    unsafe { syslet::raw::syscall3(72, fd as usize, 1, 0) >= 0 }
}

fn temp_file(name: &str, data: &[u8]) -> (CString, std::fs::File) {
    let path = format!("/tmp/syslet-rs-{}-{name}", std::process::id());
    std::fs::write(&path, data).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    (CString::new(path).unwrap(), f)
}

#[test]
fn an_inline_chain_reports_its_results_and_last_atom() {
    scope(4, |ring| {
        let mut c = Chain::new();
        let a = c.getpid();
        let b = c.getppid();
        let Ok(Submitted::Done(done)) = ring.submit(c) else { panic!("getpid does not block") };
        assert_eq!(done.end(), Ok(b));
        assert!(!done.went_async());
        assert_eq!(done.result(a), Some(std::process::id() as i64));
        assert_eq!(done.result(b), Some(std::os::unix::process::parent_id() as i64));
        assert_eq!(ring.in_flight(), 0);
    })
    .unwrap();
}

#[test]
fn pread_fills_the_lent_buffer() {
    let (_, f) = temp_file("pread", b"0123456789");
    let mut data = [0u8; 4];
    scope(2, |ring| {
        let mut c = Chain::new();
        let buf = c.buf_mut(&mut data);
        let r = c.pread(f.as_fd(), buf, 3u64);
        let done = run(ring, c);
        assert_eq!(done.outcome(r), Some(Ok(4)));
        assert_eq!(done.buf(buf), b"3456");
    })
    .unwrap();
}

#[test]
fn an_opened_descriptor_feeds_later_atoms_and_can_be_taken() {
    let (path, _f) = temp_file("open", b"hello, chain");
    let mut data = [0u8; 5];
    let mut more = [0u8; 7];
    let taken = scope(2, |ring| {
        let mut c = Chain::new();
        let (b1, b2) = (c.buf_mut(&mut data), c.buf_mut(&mut more));
        let o = c.openat(FdArg::Cwd, &path, 0, 0);
        c.stop_on(o, Stop::NEGATIVE);
        let r1 = c.read(o, b1);
        let r2 = c.read(o, b2);
        let end = c.lseek(o, Val::Const(0), Whence::End);
        let mut done = run(ring, c);
        assert_eq!(done.outcome(r1), Some(Ok(5)));
        assert_eq!(done.outcome(r2), Some(Ok(7)));
        assert_eq!(done.outcome(end), Some(Ok(12)));
        assert_eq!(done.buf(b1), b"hello");
        assert_eq!(done.buf(b2), b", chain");
        let fd = done.take_fd(o).expect("the opened descriptor");
        assert!(done.take_fd(o).is_none(), "handed over once");
        assert!(done.take_fd(r1).is_none(), "a read opens nothing");
        fd
    })
    .unwrap();
    assert!(fd_is_open(taken.as_raw_fd()));
}

#[test]
fn a_descriptor_nobody_took_is_closed_with_its_chain() {
    let (path, _f) = temp_file("untaken", b"x");
    let raw = scope(2, |ring| {
        let mut c = Chain::new();
        let o = c.openat(FdArg::Cwd, &path, 0, 0);
        let done = run(ring, c);
        let fd = done.result(o).expect("ran") as i32;
        assert!(fd >= 0 && fd_is_open(fd));
        // Run again: the first run's descriptor is closed first.
        let again = run(ring, done.into_chain());
        let fd2 = again.result(o).unwrap() as i32;
        assert!(fd2 >= 0 && fd_is_open(fd2));
        assert!(fd == fd2 || !fd_is_open(fd));
        fd2
    })
    .unwrap();
    assert!(!fd_is_open(raw), "closed when the completion was dropped");
}

#[test]
fn a_failed_open_gives_later_atoms_ebadf_never_descriptor_zero() {
    let mut data = [0u8; 8];
    scope(2, |ring| {
        let mut c = Chain::new();
        let buf = c.buf_mut(&mut data);
        let o = c.openat(FdArg::Cwd, c"/nonexistent/syslet", 0, 0);
        let r = c.read(o, buf);
        let done = run(ring, c);
        assert_eq!(done.outcome(o), Some(Err(Errno::ENOENT)));
        assert_eq!(done.outcome(r), Some(Err(Errno::EBADF)));
    })
    .unwrap();
}

#[test]
fn a_stop_condition_ends_the_chain() {
    let (_, f) = temp_file("eof", b"");
    let mut data = [0u8; 8];
    scope(2, |ring| {
        let mut c = Chain::new();
        let buf = c.buf_mut(&mut data);
        let r = c.read(f.as_fd(), buf);
        c.stop_on(r, Stop::NON_POSITIVE);
        let after = c.getpid();
        let done = run(ring, c);
        assert_eq!(done.end(), Ok(r));
        assert_eq!(done.result(r), Some(0));
        assert_eq!(done.result(after), None, "did not run");
    })
    .unwrap();
}

#[test]
fn skip_to_next_on_stop_branches() {
    // openat fails -> the atom after it in memory (the error branch);
    // succeeds -> its `next`, the success branch.
    let (path, _f) = temp_file("branch", b"abc");
    for (p, fails) in [(c"/nonexistent/syslet", true), (path.as_c_str(), false)] {
        scope(2, |ring| {
            let mut c = Chain::new();
            let o = c.openat(FdArg::Cwd, p, 0, 0);
            let on_error = c.getppid();
            let on_success = c.lseek(o, Val::Const(0), Whence::End);
            c.stop_on(o, Stop::NEGATIVE).skip_to_next_on_stop(o).then(o, on_success).end_after(on_error);
            let done = run(ring, c);
            if fails {
                assert_eq!(done.end(), Ok(on_error));
                assert!(done.result(on_error).is_some());
                assert_eq!(done.result(on_success), None);
            } else {
                assert_eq!(done.end(), Ok(on_success));
                assert_eq!(done.result(on_error), None);
                assert_eq!(done.outcome(on_success), Some(Ok(3)));
            }
        })
        .unwrap();
    }
}

#[test]
fn a_loop_counts_down_and_results_feed_increments() {
    let mut counter = 50u64;
    let mut total = 0u64;
    let (_, f) = temp_file("sum", b"0123456789abcdef");
    let mut data = [0u8; 16];
    scope(2, |ring| {
        let mut c = Chain::new();
        let cell = c.cell(&mut counter);
        let tot = c.cell(&mut total);
        let buf = c.buf_mut(&mut data);
        // read -> total += bytes read (the result as an argument) -> loop
        // of counter -= 1 until zero.
        let r = c.pread(f.as_fd(), buf, 0u64);
        let add = c.umem_add(tot, r);
        let dec = c.umem_add(cell, u64::MAX);
        c.stop_on(dec, Stop::ZERO).then(dec, dec);
        let done = run(ring, c);
        assert_eq!(done.end(), Ok(dec));
        assert_eq!(done.outcome(add), Some(Ok(16)));
        assert_eq!(done.cell(tot), 16);
        assert_eq!(done.cell(cell), 0);
    })
    .unwrap();
    assert_eq!((counter, total), (0, 16));
}

#[test]
fn a_blocking_chain_goes_async_and_completes_through_the_ring() {
    let (rx, mut tx) = UnixStream::pair().unwrap();
    let mut data = [0u8; 16];
    scope(4, |ring| {
        let mut c = Chain::new();
        let buf = c.buf_mut(&mut data);
        let r = c.read(rx.as_fd(), buf);
        let Ok(Submitted::InFlight(id)) = ring.submit(c) else { panic!("nothing to read yet") };
        assert_eq!(ring.in_flight(), 1);
        assert_eq!(ring.completions().count(), 0, "not yet");
        tx.write_all(b"ping").unwrap();
        let done = ring.next_completion(SECOND).expect("completion");
        assert_eq!(done.id(), id);
        assert!(done.went_async());
        assert_eq!(done.end(), Ok(r));
        assert_eq!(done.outcome(r), Some(Ok(4)));
        assert_eq!(&done.buf(buf)[..4], b"ping");
        assert_eq!(ring.in_flight(), 0);
    })
    .unwrap();
}

#[test]
fn a_wait_times_out_then_the_chain_completes() {
    let (rx, mut tx) = UnixStream::pair().unwrap();
    let mut data = [0u8; 4];
    scope(2, |ring| {
        let mut c = Chain::new();
        let buf = c.buf_mut(&mut data);
        c.read(rx.as_fd(), buf);
        assert!(matches!(ring.submit(c), Ok(Submitted::InFlight(_))));
        let t = Instant::now();
        assert_eq!(ring.wait(1, Some(Duration::from_millis(50))), Err(Errno::ETIMEDOUT));
        assert!(t.elapsed() >= Duration::from_millis(50));
        assert_eq!(ring.wait(2, None), Err(Errno::EINVAL), "only one chain in flight");
        tx.write_all(b"x").unwrap();
        assert_eq!(ring.wait(1, SECOND), Ok(1));
        assert_eq!(ring.wait(1, None), Ok(1), "async_wait() counts it too");
        assert_eq!(ring.completions().count(), 1);
    })
    .unwrap();
}

#[test]
fn the_iterator_yields_every_completion_once() {
    scope(8, |ring| {
        let mut ids = Vec::new();
        for ms in [30u64, 10, 20] {
            let mut c = Chain::new();
            let s = c.nanosleep(Duration::from_millis(ms));
            c.go_async(s);
            match ring.submit(c).expect("valid") {
                Submitted::InFlight(id) => ids.push(id),
                Submitted::Done(d) => panic!("SYSLET_ASYNC went inline: {:?}", d.end()),
            }
        }
        assert_eq!(ring.wait(3, SECOND), Ok(3));
        let mut got: Vec<_> = ring.completions().map(|c| (c.id(), c.result(c.end().unwrap()))).collect();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|(_, r)| *r == Some(0)));
        got.sort();
        ids.sort();
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), ids);
        assert_eq!(ring.completions().count(), 0);
    })
    .unwrap();
}

#[test]
fn the_scope_waits_for_chains_nobody_reaped() {
    let (rx, mut tx) = UnixStream::pair().unwrap();
    let mut data = [0u8; 4];
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        tx.write_all(b"late").unwrap();
    });
    let t = Instant::now();
    scope(2, |ring| {
        let mut c = Chain::new();
        let buf = c.buf_mut(&mut data);
        c.read(rx.as_fd(), buf);
        let s = ring.submit(c);
        assert!(matches!(s, Ok(Submitted::InFlight(_))));
        std::mem::forget(s);
    })
    .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(90), "returned before the chain completed");
    writer.join().unwrap();
    assert_eq!(&data, b"late", "the kernel wrote the buffer before the scope returned");
}

#[test]
fn statx_and_getdents64_fill_what_the_chain_keeps() {
    let dir = format!("/tmp/syslet-rs-dir-{}", std::process::id());
    std::fs::create_dir_all(&dir).unwrap();
    for n in ["a", "bb", "ccc"] {
        std::fs::write(format!("{dir}/{n}"), n).unwrap();
    }
    let d = std::fs::File::open(&dir).unwrap();
    let mut dents = [0u8; 1024];
    scope(2, |ring| {
        let mut c = Chain::new();
        let buf = c.buf_mut(&mut dents);
        let g = c.getdents64(d.as_fd(), buf);
        let st = c.statx(d.as_fd(), c"ccc", 0, syslet::STATX_BASIC_STATS);
        let missing = c.statx(d.as_fd(), c"none", 0, syslet::STATX_BASIC_STATS);
        let done = run(ring, c);
        let n = done.outcome(g).unwrap().unwrap() as usize;
        let mut names: Vec<String> = syslet::dirents(&done.buf(buf)[..n])
            .map(|e| e.unwrap().name.to_str().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".", "..", "a", "bb", "ccc"]);
        let sx = done.statx(st).expect("statx of ccc");
        assert_eq!(sx.stx_size, 3);
        assert_eq!(sx.stx_mode & 0o170000, 0o100000, "a regular file");
        assert_eq!(done.outcome(missing.atom()), Some(Err(Errno::ENOENT)));
        assert!(done.statx(missing).is_none());
    })
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_chain_runs_again_with_new_buffer_contents() {
    let (rx, tx) = UnixStream::pair().unwrap();
    let mut msg = *b"one";
    let mut got = [0u8; 3];
    scope(2, |ring| {
        let mut c = Chain::new();
        let m = c.buf_mut(&mut msg);
        let w = c.write(tx.as_fd(), m);
        let g = c.buf_mut(&mut got);
        c.read(rx.as_fd(), g);
        let mut done = run(ring, c);
        assert_eq!(done.buf(g), b"one");
        done.buf_mut(m).copy_from_slice(b"two");
        let done = run(ring, done.into_chain());
        assert_eq!(done.outcome(w), Some(Ok(3)));
        assert_eq!(done.buf(g), b"two");
    })
    .unwrap();
}

#[test]
fn refused_and_unknown_calls_through_the_unsafe_escape() {
    scope(2, |ring| {
        let mut c = Chain::new();
        // SAFETY: fork and number 599 take no pointers (and fork is refused).
        let (fork, unknown) = unsafe { (c.syscall(57, &[]), c.syscall(599, &[])) };
        let done = run(ring, c);
        assert_eq!(done.outcome(fork), Some(Err(Errno::EOPNOTSUPP)));
        assert_eq!(done.outcome(unknown), Some(Err(Errno::ENOSYS)));
    })
    .unwrap();
}
