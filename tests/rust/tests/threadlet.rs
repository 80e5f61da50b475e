// SPDX-License-Identifier: GPL-2.0

//! Threadlets through the Rust bindings: a function that does not block
//! runs inline; one that blocks on a pipe lets the caller go on at once and
//! completes in another thread when a std thread fills the pipe.
//!
//! The threadlet functions make their system calls with the `syscall`
//! instruction: once they may have blocked they share the caller's TLS
//! (errno, the allocator's caches, std's thread data) with the caller.

use std::ffi::c_void;
use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use syslet::raw::{threadlet_exec, Threadlet};
use syslet::Errno;

const NR_READ: usize = 0;
const NR_GETTID: usize = 186;
const NR_PIPE2: usize = 293;
const O_CLOEXEC: usize = 0o2000000;
const STACK: usize = 64 << 10;

/// A system call without libc (no errno): what a threadlet function may
/// make once it can run in parallel with the caller's TLS.
fn raw_syscall3(nr: usize, a1: usize, a2: usize, a3: usize) -> isize {
    // SAFETY: the callers pass arguments valid for `nr`.
    unsafe { syslet::raw::syscall3(nr, a1, a2, a3) }
}

fn gettid() -> i64 {
    raw_syscall3(NR_GETTID, 0, 0, 0) as i64
}

/// A threadlet stack, its pages touched now (a first-touch fault inside the
/// threadlet could sleep and send it asynchronous). Leaked: a threadlet that
/// went asynchronous still runs on its stack after it reports completion.
fn new_stack() -> &'static mut [u8] {
    vec![0x5au8; STACK].leak()
}

/// Both ends of a new pipe: (read fd, write end).
fn pipe() -> (i32, File) {
    let mut fds = [0i32; 2];
    let r = raw_syscall3(NR_PIPE2, fds.as_mut_ptr() as usize, O_CLOEXEC, 0);
    assert_eq!(r, 0, "pipe2");
    // SAFETY: the kernel just gave us this descriptor; only the File owns it.
    (fds[0], unsafe { File::from_raw_fd(fds[1]) })
}

/// What a threadlet saw: written by it, read by the test after `done`.
#[derive(Default)]
struct Probe {
    fd: i32,
    tid_before: AtomicI64,
    tid_after: AtomicI64,
    ret: AtomicI64,
    buf: std::cell::UnsafeCell<[u8; 16]>,
    done: AtomicBool,
}

// SAFETY: `buf` is written only by the threadlet, and read by the test only
// after `done` (Release/Acquire).
unsafe impl Sync for Probe {}

extern "C" fn probe_fn(arg: *mut c_void) {
    // SAFETY: the tests pass a leaked Probe.
    let p = unsafe { &*(arg as *const Probe) };
    p.tid_before.store(gettid(), Ordering::Relaxed);
    if p.fd >= 0 {
        let ret = raw_syscall3(NR_READ, p.fd as usize, p.buf.get() as usize, 16);
        p.ret.store(ret as i64, Ordering::Relaxed);
    }
    p.tid_after.store(gettid(), Ordering::Relaxed);
    p.done.store(true, Ordering::Release);
}

fn leaked_probe(fd: i32) -> &'static Probe {
    Box::leak(Box::new(Probe { fd, ..Probe::default() }))
}

/// `x` as a threadlet function's argument.
fn as_arg<T>(x: &T) -> *mut c_void {
    x as *const T as *mut c_void
}

/// Waits up to `limit` for `flag`.
fn wait_for(flag: &AtomicBool, limit: Duration) -> bool {
    let start = Instant::now();
    while !flag.load(Ordering::Acquire) && start.elapsed() < limit {
        thread::sleep(Duration::from_millis(1));
    }
    flag.load(Ordering::Acquire)
}

#[test]
fn a_function_that_does_not_block_runs_inline() {
    let p = leaked_probe(-1);
    let stack = new_stack();
    let tid = gettid();
    // Map probe_fn's code now: a fault on it in the threadlet could sleep
    // (through black_box: an inlined copy would not touch its page).
    std::hint::black_box(probe_fn as extern "C" fn(*mut c_void))(as_arg(leaked_probe(-1)));
    // SAFETY: probe_fn only makes raw system calls and stores into the
    // leaked probe; the stack is leaked.
    let r = unsafe { threadlet_exec(probe_fn, as_arg(p), stack.as_mut_ptr(), STACK) };
    assert_eq!(r, Ok(Threadlet::Inline));
    assert!(p.done.load(Ordering::Acquire));
    assert_eq!(p.tid_before.load(Ordering::Relaxed), tid);
    assert_eq!(p.tid_after.load(Ordering::Relaxed), tid);
    assert_eq!(gettid(), tid);
    // threadlet_exec turned threadlet mode off: a second one is not EBUSY.
    let again = leaked_probe(-1);
    // SAFETY: as above.
    let r = unsafe { threadlet_exec(probe_fn, as_arg(again), stack.as_mut_ptr(), STACK) };
    assert_eq!(r, Ok(Threadlet::Inline));
    assert!(again.done.load(Ordering::Acquire));
}

#[test]
fn a_blocking_function_goes_async_and_completes() {
    let (rfd, mut tx) = pipe();
    let p = leaked_probe(rfd);
    let stack = new_stack();
    let returned: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let tid = gettid();
    let pid = std::process::id();
    // Fills the pipe 10 ms later, and not before the call returned (under
    // emulation the switch may take longer); if the call waits for the data,
    // the gate times out and the data comes first, which the test catches.
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        wait_for(returned, Duration::from_secs(2));
        let at = Instant::now();
        tx.write_all(b"ping").expect("write");
        at
    });
    // SAFETY: probe_fn only makes raw system calls and stores into the
    // leaked probe; the stack is leaked.
    let r = unsafe { threadlet_exec(probe_fn, as_arg(p), stack.as_mut_ptr(), STACK) };
    let returned_at = Instant::now();
    let done_at_return = p.done.load(Ordering::Acquire);
    returned.store(true, Ordering::Release);

    assert_eq!(r, Ok(Threadlet::WentAsync));
    assert!(!done_at_return, "the function cannot have finished: no data yet");
    assert_eq!(gettid(), tid, "the caller keeps its TID");
    assert_eq!(std::process::id(), pid);

    let wrote_at = writer.join().expect("writer");
    assert!(returned_at < wrote_at, "threadlet_exec returned before the data came");
    assert!(wait_for(&p.done, Duration::from_secs(5)), "the threadlet completes");
    assert_eq!(p.ret.load(Ordering::Relaxed), 4);
    // SAFETY: the threadlet is done with `buf` (done, Acquire above).
    assert_eq!(&unsafe { *p.buf.get() }[..4], b"ping");
    assert_eq!(p.tid_before.load(Ordering::Relaxed), tid, "inline until it blocked");
    assert_ne!(p.tid_after.load(Ordering::Relaxed), tid, "then in another thread");
    assert!(p.tid_after.load(Ordering::Relaxed) > 0);
}

/// A threadlet whose function tries to start another one.
struct Nest {
    stack: *mut u8,
    inner: std::cell::Cell<Option<Result<Threadlet, Errno>>>,
    inner_probe: &'static Probe,
}

extern "C" fn nest_fn(arg: *mut c_void) {
    // SAFETY: the test passes a Nest that outlives the inline call.
    let n = unsafe { &*(arg as *const Nest) };
    // SAFETY: as in the other tests; refused before anything runs.
    let r = unsafe { threadlet_exec(probe_fn, as_arg(n.inner_probe), n.stack, STACK) };
    n.inner.set(Some(r));
}

#[test]
fn a_threadlet_inside_a_threadlet_is_ebusy() {
    let outer_stack = new_stack();
    let n = Nest {
        stack: new_stack().as_mut_ptr(),
        inner: Default::default(),
        inner_probe: leaked_probe(-1),
    };
    // SAFETY: nest_fn does not block (the inner call fails at once), so it
    // runs inline and is done when the call returns; the stacks are leaked.
    let r = unsafe { threadlet_exec(nest_fn, as_arg(&n), outer_stack.as_mut_ptr(), STACK) };
    assert_eq!(r, Ok(Threadlet::Inline));
    assert_eq!(n.inner.get(), Some(Err(Errno::EBUSY)));
    assert!(!n.inner_probe.done.load(Ordering::Acquire), "the inner function never ran");
}
