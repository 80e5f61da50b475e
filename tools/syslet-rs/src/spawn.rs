// SPDX-License-Identifier: GPL-2.0

//! Threadlets with a spawn/join API: [`ThreadletPool`] owns the stacks,
//! hands each threadlet one, and takes it back once the threadlet has
//! left it; [`JoinHandle`] waits for the function's result.
//!
//! # Why `spawn` is `unsafe`
//!
//! A threadlet runs inline in the caller until its function blocks; then
//! the caller goes on and the function finishes in the thread that
//! blocked. That thread runs with the caller's FS base, i.e. the
//! caller's thread-local storage, while the caller uses it too
//! (Documentation/handoff.md, "Threadlets"). Two threads on one TLS break
//! everything in Rust's runtime that is thread-local: the allocator's
//! per-thread caches (glibc's tcache), `thread_local!`, the panic count,
//! `std::thread::current()`, the owner checks of the reentrant lock
//! behind `stdout`, `errno`. A safe closure can call any of these, and no
//! type or trait bound can tell a closure that never does (there is no
//! "allocation-free" marker in Rust), so no signature for a safe spawn of
//! arbitrary code can be sound. What the pool makes safe is everything
//! around the function: stacks (never reused or unmapped while a
//! threadlet may run on them), the result's hand-over, the wait, and the
//! signal mask (blocked while the function runs). What can be checked of
//! the function is checked at build time: its captures have no drop code,
//! which would run inside it.

use core::cell::{RefCell, UnsafeCell};
use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::raw::{decode, syscall3, syscall6, Errno, Threadlet};
use crate::threadlet::threadlet_run;

const NR_MMAP: usize = 9;
const NR_MPROTECT: usize = 10;
const NR_MUNMAP: usize = 11;
const NR_FUTEX: usize = 202;
const FUTEX_WAIT_PRIVATE: usize = 128;
const PAGE: usize = 4096;

/// The word the trampoline sets when the function has returned (0
/// running, 1 returned, 2 result taken), the result, the function.
/// `repr(C)` with `f` last: `done` and `result` lie at offsets that do
/// not depend on `F`, so a handle that knows only `R` can reach them.
#[repr(C)]
struct Job<F, R> {
    done: AtomicU32,
    result: UnsafeCell<MaybeUninit<R>>,
    f: UnsafeCell<Option<F>>,
}

/// Runs on the threadlet stack: no allocation, no TLS, no panic path
/// (`f` aside, which is the caller's contract).
unsafe extern "C" fn trampoline<F: FnOnce() -> R, R>(arg: *mut c_void) {
    let job = arg as *const Job<F, R>;
    // SAFETY: `arg` is the Job spawn() made; only this function touches
    // `f` and `result` until `done` is 1.
    unsafe {
        if let Some(f) = (*(*job).f.get()).take() {
            (*(*job).result.get()).write(f());
        }
    }
}

/// A threadlet stack: `len` bytes at `base`, the lowest page a guard.
struct Stack {
    base: *mut u8,
    len: usize,
}

impl Stack {
    fn new(len: usize) -> Result<Stack, Errno> {
        const PROT_RW: usize = 3;
        const MAP_FLAGS: usize = 0x02 | 0x20 | 0x20000 | 0x8000; // PRIVATE|ANONYMOUS|STACK|POPULATE
        // SAFETY: a new anonymous mapping; nothing of ours is replaced.
        let base = decode(unsafe { syscall6(NR_MMAP, [0, len, PROT_RW, MAP_FLAGS, usize::MAX, 0]) })?;
        // SAFETY: the guard page is the mapping's own first page.
        if let Err(e) = decode(unsafe { syscall3(NR_MPROTECT, base, PAGE, 0) }) {
            // SAFETY: our mapping, unused.
            unsafe { syscall3(NR_MUNMAP, base, len, 0) };
            return Err(e);
        }
        Ok(Stack { base: base as *mut u8, len })
    }

    fn top(&self) -> *mut u8 {
        self.base.wrapping_add(self.len)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: a Stack is dropped only when no threadlet runs on it.
        unsafe { syscall3(NR_MUNMAP, self.base as usize, self.len, 0) };
    }
}

/// What a dropped, unfinished [`JoinHandle`] leaves to the pool.
struct Orphan {
    job: *mut u8,
    done: *const AtomicU32,
    /// Frees the job, dropping its result if the function produced one.
    free: unsafe fn(*mut u8),
    stack: Stack,
}

/// Threadlet stacks and the threadlets running on them.
///
/// ```no_run
/// use syslet::{ThreadletPool, raw::Threadlet};
///
/// let pool = ThreadletPool::new(64 << 10)?;
/// // SAFETY: the function makes one raw system call and returns a value:
/// // no allocation, TLS, locks or panics once it may have blocked.
/// let h = unsafe { pool.spawn(|| syslet::raw::decode(syslet::raw::syscall3(39, 0, 0, 0))) }?;
/// assert_eq!(h.how(), Threadlet::Inline); // getpid() never blocks
/// assert_eq!(h.join(), Ok(std::process::id() as usize));
/// # Ok::<(), syslet::Errno>(())
/// ```
pub struct ThreadletPool {
    stack_len: usize,
    free: RefCell<Vec<Stack>>,
    orphans: RefCell<Vec<Orphan>>,
}

impl ThreadletPool {
    /// A pool whose threadlets get stacks of `stack_size` bytes (rounded
    /// up to pages, plus a guard page). `EINVAL` below 4096 bytes or above
    /// 1 GiB. The function runs with signals blocked, so its stack needs
    /// no room for a signal frame (unlike [`crate::raw::threadlet_exec`]'s,
    /// see [`crate::raw::MIN_STACK`]): size it for the function alone.
    pub fn new(stack_size: usize) -> Result<ThreadletPool, Errno> {
        if !(PAGE..=1 << 30).contains(&stack_size) {
            return Err(Errno::EINVAL);
        }
        let stack_len = stack_size.next_multiple_of(PAGE) + PAGE;
        Ok(ThreadletPool { stack_len, free: RefCell::new(Vec::new()), orphans: RefCell::new(Vec::new()) })
    }

    /// Stacks ready for a threadlet.
    pub fn idle_stacks(&self) -> usize {
        self.reap_orphans();
        self.free.borrow().len()
    }

    /// Threadlets whose handle was dropped before they finished.
    pub fn detached(&self) -> usize {
        self.reap_orphans();
        self.orphans.borrow().len()
    }

    fn reap_orphans(&self) {
        let mut orphans = self.orphans.borrow_mut();
        let mut i = 0;
        while i < orphans.len() {
            // SAFETY: the job lives until freed here.
            if unsafe { (*orphans[i].done).load(Ordering::Acquire) } == 1 {
                let o = orphans.swap_remove(i);
                // SAFETY: done: the threadlet has left the job and stack.
                unsafe { (o.free)(o.job) };
                self.free.borrow_mut().push(o.stack);
            } else {
                i += 1;
            }
        }
    }

    /// Runs `f` as a threadlet on a stack of the pool: inline until it
    /// blocks, then in the thread that blocked while the caller goes on.
    /// Returns once `f` finished or blocked; [`JoinHandle::join`] gives
    /// its result. Errors, and `f` did not run: `EBUSY` when the calling
    /// thread is in a threadlet already, `ENOSYS` on a kernel without
    /// threadlets, `ENOMEM` and others of `mmap()` for a new stack. (An
    /// error of `threadlet_off()` after `f` returned inline also comes
    /// back as an error, its result dropped; it happens only if `f` ended
    /// threadlet mode itself, which the contract forbids.)
    ///
    /// `f` runs with every blockable signal blocked, inline too: `spawn`
    /// blocks them before `threadlet_on()` and restores the caller's mask
    /// before it returns, on every path, so no handler runs on the
    /// threadlet stack or at the kernel's first return. (Once `f` went
    /// asynchronous the kernel leaves the signals of faults deliverable,
    /// SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE and SIGSYS, so that a
    /// fault in `f` still ends the process.)
    ///
    /// `F` must have no drop glue (`core::mem::needs_drop::<F>()` is
    /// false), since `f`'s captures are dropped at its end, inside it:
    /// `spawn` with a closure that captures a `Vec`, `Box`, `Arc`,
    /// `OwnedFd` or anything else with `Drop` fails to build (E0080, a
    /// failed constant evaluation). Capture plain values and references
    /// to `'static` data.
    ///
    /// ```compile_fail,E0080
    /// let pool = syslet::ThreadletPool::new(64 << 10).unwrap();
    /// let v = vec![1u8];
    /// // `v` would be freed at the end of the closure, inside the threadlet.
    /// let _ = unsafe { pool.spawn(move || v.len()) };
    /// ```
    ///
    /// # Safety
    ///
    /// From the first point where `f` may block (any system call, a page
    /// fault on memory not yet touched) to its return, `f` runs in another
    /// thread, concurrently with the caller, but with the caller's
    /// thread-local storage. Until it returns, `f` may use atomics and raw
    /// system calls ([`crate::raw::syscall3`],
    /// [`syscall6`](crate::raw::syscall6)) and nothing else that
    /// synchronizes or reaches the kernel. In particular `f` must not:
    ///
    /// - use any `std::sync` type other than the atomics: a contended
    ///   `Mutex`, `RwLock` or `Condvar` waits through
    ///   `libc::syscall(SYS_futex)`, which writes `errno` in the caller's
    ///   TLS; `mpsc` channels use `thread_local!` and allocate;
    /// - allocate or free (`Box`, `Vec`, `String`, `format!`, `Arc`
    ///   clones that drop the last reference, anything that does): the
    ///   allocator's caches are per thread. This includes drops: drop
    ///   code that allocates or frees must not run inside `f`. `F`'s
    ///   captures are checked at build time (above); `R` is built inside
    ///   `f`, so it must not own memory `f` allocated (dropping an `R`
    ///   later is fine: that happens in the thread that joins, or that
    ///   owns the pool);
    /// - use thread-local state: `thread_local!`, `std::thread::current()`,
    ///   `errno` (libc functions), `std::io::stdout()`/`stderr()` and
    ///   `println!` (their reentrant lock checks its owner thread);
    /// - panic (the panic count is thread-local; a panic out of `f`
    ///   aborts the process in any case), `longjmp` or exit its thread:
    ///   its return is what frees the thread;
    /// - make `threadlet_on()` or `threadlet_off()` system calls itself (a
    ///   [`crate::raw::threadlet_exec`] from `f` is refused with `EBUSY`
    ///   before it runs anything; a raw `threadlet_off()` would end
    ///   threadlet mode under `f`).
    ///
    /// Whatever `f` shares with the caller needs atomics, as between any
    /// two threads. The process must not run with a CET shadow stack.
    pub unsafe fn spawn<F, R>(&self, f: F) -> Result<JoinHandle<'_, R>, Errno>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        const {
            assert!(
                !core::mem::needs_drop::<F>(),
                "ThreadletPool::spawn: the function's captures have drop glue, which would run inside the threadlet"
            )
        };
        self.reap_orphans();
        let popped = self.free.borrow_mut().pop();
        let stack = match popped {
            Some(s) => s,
            None => Stack::new(self.stack_len)?,
        };
        let job = Box::into_raw(Box::new(Job {
            done: AtomicU32::new(0),
            f: UnsafeCell::new(Some(f)),
            result: UnsafeCell::new(MaybeUninit::<R>::uninit()),
        }));
        let saved = block_signals();
        // Nothing from here to the JoinHandle may panic: an unwind would
        // unmap a stack that `f` may be running on.
        // SAFETY: the stack is ours and unused (its last threadlet set
        // `done`), and stays out of the free list until this one's `done`
        // is 1; the job lives until then too (join, or the orphan list);
        // signals are blocked; the caller vouches for what `f` does.
        let r = unsafe { threadlet_run(trampoline::<F, R>, job.cast(), stack.top(), &(*job).done) };
        // The thread here is the caller, or the spare thread that took its
        // place (with its ID and the mask blocked above): either way the
        // caller's mask goes back.
        restore_signals(&saved);
        match r {
            Ok(how) => Ok(JoinHandle {
                pool: self,
                job: job.cast(),
                stack: Some(stack),
                how,
                free: free_job::<F, R>,
                _r: PhantomData,
            }),
            Err(e) => {
                // SAFETY: no thread is on the stack or uses the job:
                // either threadlet_on() failed and `f` never ran (`done`
                // 0, `f` still in the job, dropped with it), or `f`
                // returned inline and threadlet_off() failed (`done` 1,
                // the result written: free_job drops it), and this thread
                // has left the threadlet stack.
                unsafe { free_job::<F, R>(job.cast()) };
                self.free.borrow_mut().push(stack);
                Err(e)
            }
        }
    }
}

const NR_RT_SIGPROCMASK: usize = 14;
const SIG_BLOCK: usize = 0;
const SIG_SETMASK: usize = 2;

/// Blocks every signal that can be blocked (the kernel leaves SIGKILL
/// and SIGSTOP out) with the raw system call, which leaves `errno`
/// alone; returns the mask before.
fn block_signals() -> u64 {
    let all = !0u64;
    let mut old = 0u64;
    // SAFETY: the kernel reads 8 bytes at `all` and writes 8 at `old`.
    let r = unsafe { syscall6(NR_RT_SIGPROCMASK, [SIG_BLOCK, &all as *const u64 as usize, &mut old as *mut u64 as usize, 8, 0, 0]) };
    // Valid pointers and the kernel's sigset size: it cannot fail.
    debug_assert_eq!(r, 0);
    old
}

/// Sets the mask back; cannot fail (valid pointer, the kernel's size) and
/// does not panic.
fn restore_signals(saved: &u64) {
    // SAFETY: the kernel reads 8 bytes at `saved`.
    unsafe { syscall6(NR_RT_SIGPROCMASK, [SIG_SETMASK, saved as *const u64 as usize, 0, 8, 0, 0]) };
}

/// Frees a job no thread uses any more, dropping its result if the
/// function wrote one that was not taken.
unsafe fn free_job<F, R>(job: *mut u8) {
    let job = job as *mut Job<F, R>;
    // SAFETY: `done` is 1 (the function returned and wrote its result),
    // 2 (join() moved the result out) or 0 (threadlet_on() failed: the
    // function, still in `f`, never ran and no result exists).
    unsafe {
        if (*job).done.load(Ordering::Acquire) == 1 {
            (*(*job).result.get()).assume_init_drop();
        }
        drop(Box::from_raw(job));
    }
}

impl Drop for ThreadletPool {
    fn drop(&mut self) {
        self.reap_orphans();
        // Unfinished threadlets keep their stacks and jobs: leaked, as a
        // threadlet that never returns would need.
        for o in self.orphans.get_mut().drain(..) {
            core::mem::forget(o.stack);
        }
    }
}

/// A threadlet started by [`ThreadletPool::spawn`]. Dropping it without
/// joining detaches the threadlet: its stack returns to the pool once it
/// finishes (or is leaked with the pool if it never does).
pub struct JoinHandle<'p, R> {
    pool: &'p ThreadletPool,
    job: *mut u8,
    stack: Option<Stack>,
    how: Threadlet,
    free: unsafe fn(*mut u8),
    _r: PhantomData<R>,
}

impl<R> JoinHandle<'_, R> {
    fn done(&self) -> &AtomicU32 {
        // SAFETY: `done` is the first field of every Job, which lives
        // until the handle frees it or hands it to the pool.
        unsafe { &*(self.job as *const AtomicU32) }
    }

    /// Whether the function ran to its end without blocking
    /// (`Inline`), or blocked and went on in another thread.
    pub fn how(&self) -> Threadlet {
        self.how
    }

    /// Whether the function has returned.
    pub fn is_finished(&self) -> bool {
        self.done().load(Ordering::Acquire) == 1
    }

    /// Waits for the function's return and gives its result.
    pub fn join(self) -> R {
        match self.join_timeout(None) {
            Ok(r) => r,
            Err(_) => unreachable!("a wait without a timeout ends only when done"),
        }
    }

    /// [`join`](JoinHandle::join) that gives up after `timeout`, giving
    /// the handle back.
    pub fn join_timeout(mut self, timeout: Option<Duration>) -> Result<R, Self> {
        let start = Instant::now();
        while !self.is_finished() {
            let ts: [i64; 2];
            let tsp = match timeout {
                Some(t) => {
                    let left = t.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        return Err(self);
                    }
                    ts = [left.as_secs() as i64, left.subsec_nanos() as i64];
                    ts.as_ptr() as usize
                }
                None => 0,
            };
            let addr = self.done() as *const AtomicU32 as usize;
            // SAFETY: waits while the word is 0; `ts` outlives the call.
            // EAGAIN (already 1), EINTR, ETIMEDOUT and spurious wakes all
            // lead back to the check.
            unsafe { syscall6(NR_FUTEX, [addr, FUTEX_WAIT_PRIVATE, 0, tsp, 0, 0]) };
        }
        let job = self.job;
        // SAFETY: done: the function wrote its result and the threadlet has
        // left the job and the stack. The result is moved out once; `done`
        // 2 tells free_job not to drop it again.
        let r = unsafe {
            // Job<(), R> has Job<F, R>'s offsets for `done` and `result`.
            let r = (*(job as *const Job<(), R>)).result.get().read().assume_init();
            (*(job as *const AtomicU32)).store(2, Ordering::Relaxed);
            r
        };
        self.finish();
        Ok(r)
    }

    /// Frees the job and returns the stack (the threadlet is done).
    fn finish(&mut self) {
        if let Some(stack) = self.stack.take() {
            // SAFETY: done; the job is freed once.
            unsafe { (self.free)(self.job) };
            self.pool.free.borrow_mut().push(stack);
        }
    }
}

impl<R> Drop for JoinHandle<'_, R> {
    fn drop(&mut self) {
        if self.stack.is_none() {
            return;
        }
        if self.is_finished() {
            self.finish();
            return;
        }
        let stack = self.stack.take().expect("stack");
        self.pool.orphans.borrow_mut().push(Orphan {
            job: self.job,
            done: self.done(),
            free: self.free,
            stack,
        });
    }
}

// `done` first: the handle reads it through a plain pointer.
const _: () = assert!(core::mem::offset_of!(Job<(), u64>, done) == 0);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

    #[test]
    fn stack_sizes_are_checked() {
        assert!(matches!(ThreadletPool::new(4095), Err(Errno::EINVAL)));
        assert!(matches!(ThreadletPool::new((1 << 30) + 1), Err(Errno::EINVAL)));
        let p = ThreadletPool::new(5000).unwrap();
        assert_eq!(p.stack_len, 3 * PAGE, "two pages and the guard");
    }

    #[test]
    fn job_offsets_do_not_depend_on_the_function() {
        type Big = [u64; 9];
        assert_eq!(core::mem::offset_of!(Job<Big, u8>, result), core::mem::offset_of!(Job<(), u8>, result));
        assert_eq!(core::mem::offset_of!(Job<Big, Big>, result), core::mem::offset_of!(Job<u8, Big>, result));
    }

    /// The calling thread's signal mask, read with the raw call.
    fn sigmask() -> u64 {
        let mut cur = 0u64;
        // SAFETY: the kernel writes 8 bytes at `cur`; `set` is null.
        let r = unsafe { syscall6(NR_RT_SIGPROCMASK, [SIG_BLOCK, 0, &mut cur as *mut u64 as usize, 8, 0, 0]) };
        assert_eq!(r, 0);
        cur
    }

    fn set_sigmask(m: u64) {
        restore_signals(&m);
        assert_eq!(sigmask(), m);
    }

    /// Every signal but SIGKILL (9) and SIGSTOP (19), which the kernel
    /// never blocks.
    const ALL_BLOCKABLE: u64 = !((1 << 8) | (1 << 18));
    const SIGUSR1_BIT: u64 = 1 << 9;

    static RAN: AtomicBool = AtomicBool::new(false);
    static MASK_INSIDE: AtomicU64 = AtomicU64::new(0);

    #[test]
    fn spawn_runs_inline_or_is_enosys_and_recycles_its_stack() {
        let pool = ThreadletPool::new(16 << 10).unwrap();
        // The test's own mask, to see it restored: SIGUSR1 blocked only.
        let before = sigmask();
        set_sigmask(SIGUSR1_BIT);
        let ran: &'static AtomicBool = &RAN;
        let mask: &'static AtomicU64 = &MASK_INSIDE;
        // SAFETY: the function reads its signal mask with a raw system
        // call, stores to two statics and returns a value; its captures
        // are references, without drop glue.
        let r = unsafe {
            pool.spawn(move || {
                let mut cur = 0u64;
                syscall6(NR_RT_SIGPROCMASK, [SIG_BLOCK, 0, &mut cur as *mut u64 as usize, 8, 0, 0]);
                mask.store(cur, Ordering::Relaxed);
                ran.store(true, Ordering::Relaxed);
                41 + 1
            })
        };
        let after = sigmask();
        set_sigmask(before);
        assert_eq!(after, SIGUSR1_BIT, "the caller's mask is back");
        match r {
            // The host kernel: threadlet_on() is ENOSYS, the function did
            // not run, the stack went back.
            Err(Errno::ENOSYS) => {
                assert!(!RAN.load(Ordering::Relaxed));
                assert_eq!(pool.idle_stacks(), 1);
            }
            Ok(h) => {
                assert_eq!(h.how(), Threadlet::Inline);
                assert!(h.is_finished());
                assert_eq!(h.join(), 42);
                assert_eq!(MASK_INSIDE.load(Ordering::Relaxed), ALL_BLOCKABLE, "f ran with signals blocked");
                assert_eq!(pool.idle_stacks(), 1);
            }
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn blocking_signals_blocks_all_but_kill_and_stop_and_restores() {
        let before = sigmask();
        set_sigmask(SIGUSR1_BIT);
        let saved = block_signals();
        let inside = sigmask();
        restore_signals(&saved);
        let after = sigmask();
        set_sigmask(before);
        assert_eq!(saved, SIGUSR1_BIT);
        assert_eq!(inside, ALL_BLOCKABLE);
        assert_eq!(after, SIGUSR1_BIT);
    }

    #[test]
    fn a_failed_spawn_frees_a_result_that_was_written() {
        // The Err path after threadlet_off() failed: `done` 1 and a result
        // written, which free_job must drop (once).
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::Relaxed);
            }
        }
        let job = Box::into_raw(Box::new(Job::<fn() -> Counted, Counted> {
            done: AtomicU32::new(1),
            f: UnsafeCell::new(None),
            result: UnsafeCell::new(MaybeUninit::new(Counted)),
        }));
        // SAFETY: a finished job of these types, freed once.
        unsafe { free_job::<fn() -> Counted, Counted>(job.cast()) };
        assert_eq!(DROPS.load(Ordering::Relaxed), 1);
        // And a job whose function never ran: nothing to drop as a result.
        let job = Box::into_raw(Box::new(Job::<fn() -> Counted, Counted> {
            done: AtomicU32::new(0),
            f: UnsafeCell::new(Some((|| Counted) as fn() -> Counted)),
            result: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        // SAFETY: as above.
        unsafe { free_job::<fn() -> Counted, Counted>(job.cast()) };
        assert_eq!(DROPS.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_stack_has_a_guard_page_and_a_writable_top() {
        let s = Stack::new(3 * PAGE).unwrap();
        // SAFETY: the top two pages are ours and writable.
        unsafe { s.top().sub(2 * PAGE).write_bytes(0xa5, 2 * PAGE) };
        // The guard page is mapped without access: write() from it is
        // EFAULT.
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 writes two ints.
        assert_eq!(unsafe { syscall3(293, fds.as_mut_ptr() as usize, 0o2000000, 0) }, 0);
        // SAFETY: write() reads the guard page, which must fault.
        let r = unsafe { syscall3(1, fds[1] as usize, s.base as usize, 16) };
        assert_eq!(decode(r), Err(Errno::EFAULT));
        // SAFETY: the pipe's two descriptors are ours.
        unsafe {
            syscall3(3, fds[0] as usize, 0, 0);
            syscall3(3, fds[1] as usize, 0, 0);
        }
    }
}
