// SPDX-License-Identifier: GPL-2.0

//! ThreadletPool on the patched kernel: a function that does not block
//! runs inline and its result comes back; one that blocks lets spawn()
//! return at once, finishes in another thread, and its stack goes back to
//! the pool; a dropped handle detaches; a nested threadlet is EBUSY; the
//! function runs with signals blocked and the caller's mask comes back
//! on both returns.
//!
//! The functions only make raw system calls and touch atomics: what
//! spawn()'s safety contract allows once they may have blocked.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use syslet::raw::{decode, syscall3, syscall6, threadlet_exec, Threadlet};
use syslet::{Errno, ThreadletPool};

const NR_READ: usize = 0;
const NR_GETTID: usize = 186;
const NR_RT_SIGPROCMASK: usize = 14;
const SIG_BLOCK: usize = 0;
const SIG_SETMASK: usize = 2;
/// Every signal but SIGKILL (9) and SIGSTOP (19), which are never blocked.
const ALL_BLOCKABLE: u64 = !((1 << 8) | (1 << 18));
const SIGUSR1_BIT: u64 = 1 << 9;
/// SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGSYS: what a fault raises.
/// Once asynchronous, the kernel keeps them deliverable in the threadlet
/// (syslet/handoff.c), so that a fault still ends the process.
const FAULT_SIGNALS: u64 = (1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 30);

/// This thread's signal mask, by the raw call (no errno): a threadlet
/// function may call it.
fn sigmask() -> u64 {
    let mut cur = 0u64;
    // SAFETY: the kernel writes 8 bytes at `cur`; no new mask.
    let r = unsafe { syscall6(NR_RT_SIGPROCMASK, [SIG_BLOCK, 0, &mut cur as *mut u64 as usize, 8, 0, 0]) };
    assert_eq!(r, 0);
    cur
}

fn set_sigmask(m: u64) {
    // SAFETY: the kernel reads 8 bytes at `m`.
    let r = unsafe { syscall6(NR_RT_SIGPROCMASK, [SIG_SETMASK, &m as *const u64 as usize, 0, 8, 0, 0]) };
    assert_eq!(r, 0);
}

fn gettid() -> i64 {
    // SAFETY: gettid takes no arguments.
    unsafe { syscall3(NR_GETTID, 0, 0, 0) as i64 }
}

/// A function reading 8 bytes from `fd` into a u64, returning (count, the
/// bytes, the TID it finished on).
fn reader(fd: &OwnedFd) -> impl FnOnce() -> (isize, u64, i64) + Send + 'static {
    let fd = fd.as_raw_fd() as usize;
    move || {
        let mut word = 0u64;
        // SAFETY: reads at most 8 bytes into `word`.
        let n = unsafe { syscall3(NR_READ, fd, &mut word as *mut u64 as usize, 8) };
        (n, word, gettid())
    }
}

#[test]
fn an_inline_function_returns_its_value() {
    let pool = ThreadletPool::new(64 << 10).unwrap();
    // SAFETY: one raw system call, no allocation, no TLS.
    let h = unsafe { pool.spawn(|| gettid() * 2) }.expect("spawn");
    assert_eq!(h.how(), Threadlet::Inline);
    assert!(h.is_finished());
    assert_eq!(h.join(), gettid() * 2);
    assert_eq!(pool.idle_stacks(), 1);
}

#[test]
fn a_blocking_function_goes_async_and_joins() {
    let pool = ThreadletPool::new(64 << 10).unwrap();
    let (rx, mut tx) = UnixStream::pair().unwrap();
    let rx = OwnedFd::from(rx);
    // SAFETY: as above: a read and a gettid.
    let h = unsafe { pool.spawn(reader(&rx)) }.expect("spawn");
    assert_eq!(h.how(), Threadlet::WentAsync);
    assert_eq!(pool.idle_stacks(), 0, "the stack is in use");
    let h = h.join_timeout(Some(Duration::from_millis(30))).expect_err("no data yet");
    assert!(!h.is_finished());
    tx.write_all(&0x1122_3344_5566_7788u64.to_ne_bytes()).unwrap();
    let (n, word, tid) = h.join();
    assert_eq!((n, word), (8, 0x1122_3344_5566_7788));
    assert_ne!(tid, gettid(), "it finished in another thread");
    assert_eq!(pool.idle_stacks(), 1, "its stack came back");
    // SAFETY: as above.
    let again = unsafe { pool.spawn(|| 7) }.unwrap();
    assert_eq!(pool.idle_stacks(), 0, "and was reused");
    assert_eq!(again.join(), 7);
}

#[test]
fn a_dropped_handle_detaches_until_the_function_returns() {
    let pool = ThreadletPool::new(64 << 10).unwrap();
    let (rx, mut tx) = UnixStream::pair().unwrap();
    let rx = OwnedFd::from(rx);
    static SEEN: AtomicI64 = AtomicI64::new(0);
    let seen = &SEEN;
    let fd = rx.as_raw_fd() as usize;
    // SAFETY: a read and an atomic store; the captures (a number and a
    // reference to a static) have no drop code.
    let h = unsafe {
        pool.spawn(move || {
            let mut b = 0u8;
            let n = syscall3(NR_READ, fd, &mut b as *mut u8 as usize, 1);
            seen.store(n as i64 * 100 + b as i64, Ordering::Release);
        })
    }
    .expect("spawn");
    assert_eq!(h.how(), Threadlet::WentAsync);
    drop(h);
    assert_eq!(pool.detached(), 1);
    tx.write_all(b"\x05").unwrap();
    let t = std::time::Instant::now();
    while seen.load(Ordering::Acquire) == 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(seen.load(Ordering::Acquire), 105);
    let t = std::time::Instant::now();
    while pool.detached() > 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(pool.detached(), 0);
    assert_eq!(pool.idle_stacks(), 1);
}

#[test]
fn a_threadlet_inside_a_threadlet_is_ebusy() {
    let pool = ThreadletPool::new(64 << 10).unwrap();
    let inner = vec![0u8; 16 << 10].leak();
    let (p, len) = (inner.as_mut_ptr() as usize, inner.len());
    extern "C" fn never(_: *mut std::ffi::c_void) {}
    // SAFETY: the inner call is refused before anything runs; no blocking.
    let h = unsafe {
        pool.spawn(move || threadlet_exec(never, std::ptr::null_mut(), p as *mut u8, len).err())
    }
    .unwrap();
    assert_eq!(h.join(), Some(Errno::EBUSY));
}

#[test]
fn a_raw_system_call_error_comes_back_as_the_result() {
    let pool = ThreadletPool::new(64 << 10).unwrap();
    // SAFETY: a read from a descriptor that is not open: EBADF, no memory.
    let h = unsafe { pool.spawn(|| decode(syscall3(NR_READ, 999_999, 0, 0))) }.unwrap();
    assert_eq!(h.join(), Err(Errno::EBADF));
}

#[test]
fn the_function_runs_with_signals_blocked_and_the_callers_mask_comes_back() {
    static INLINE_MASK: AtomicU64 = AtomicU64::new(0);
    static ASYNC_MASK: AtomicU64 = AtomicU64::new(0);
    let pool = ThreadletPool::new(64 << 10).unwrap();
    let before = sigmask();
    set_sigmask(SIGUSR1_BIT);

    // Inline: spawn returns in the calling thread.
    let m = &INLINE_MASK;
    // SAFETY: a raw rt_sigprocmask and an atomic store.
    let h = unsafe { pool.spawn(move || m.store(sigmask_raw(), Ordering::Relaxed)) }.expect("spawn");
    let after_inline = sigmask();
    assert_eq!(h.how(), Threadlet::Inline);
    h.join();

    // Asynchronous: spawn returns in the spare thread that took the
    // caller's place, with the mask of threadlet_on()'s entry.
    let (rx, mut tx) = UnixStream::pair().unwrap();
    let rx = OwnedFd::from(rx);
    let fd = rx.as_raw_fd() as usize;
    let m = &ASYNC_MASK;
    // SAFETY: a read, a raw rt_sigprocmask and an atomic store.
    let h = unsafe {
        pool.spawn(move || {
            let mut b = 0u8;
            syscall3(NR_READ, fd, &mut b as *mut u8 as usize, 1);
            m.store(sigmask_raw(), Ordering::Relaxed);
        })
    }
    .expect("spawn");
    let after_async = sigmask();
    let how = h.how();
    tx.write_all(b"x").unwrap();
    h.join();
    set_sigmask(before);

    assert_eq!(INLINE_MASK.load(Ordering::Relaxed), ALL_BLOCKABLE, "inline, signals are blocked");
    assert_eq!(after_inline, SIGUSR1_BIT, "the caller's mask, after an inline run");
    assert_eq!(how, Threadlet::WentAsync);
    assert_eq!(after_async, SIGUSR1_BIT, "the caller's mask, in the thread that returned");
    assert_eq!(
        ASYNC_MASK.load(Ordering::Relaxed),
        ALL_BLOCKABLE & !FAULT_SIGNALS,
        "asynchronous, signals are blocked but those of faults"
    );
}

/// [`sigmask`] without the assertion (no panic inside a threadlet).
fn sigmask_raw() -> u64 {
    let mut cur = 0u64;
    // SAFETY: the kernel writes 8 bytes at `cur`.
    unsafe { syscall6(NR_RT_SIGPROCMASK, [SIG_BLOCK, 0, &mut cur as *mut u64 as usize, 8, 0, 0]) };
    cur
}
