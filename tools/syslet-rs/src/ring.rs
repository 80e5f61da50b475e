// SPDX-License-Identifier: GPL-2.0

//! The completion ring, and the scope that keeps every chain's memory
//! alive until the kernel is done with it.
//!
//! # Why a scope
//!
//! Once `async_exec()` returned NULL, the kernel goes on writing results
//! and buffers of the chain, and finally the ring, on a thread of its own.
//! Nothing may free or reuse that memory before the chain's completion
//! has been seen. A handle that waits in its `Drop` cannot promise it:
//! `mem::forget(handle)` is safe, ends the borrow without waiting, and the
//! buffer could then be dropped under the kernel. So, as
//! `std::thread::scope` does for threads, [`scope`] owns the ring and
//! every chain in flight, and does not return before the last of them has
//! completed, whatever the closure did: returned, leaked its
//! [`Completion`]s, or panicked. Chains borrow their buffers for the
//! scope's lifetime `'scope` (a buffer must be declared outside the
//! closure, or be owned by the chain), so the borrow checker refuses any
//! code that frees or touches a buffer that a submitted chain holds; the
//! buffer comes back through the chain's [`Completion`].
//!
//! Consequences: a chain never completes if the kernel never runs its
//! end (a loop without a way out blocks the scope's exit, as a thread that
//! never ends blocks `std::thread::scope`), and in a child made by
//! `fork()` inside a scope the parent's chains are not running, so the
//! child's scope waits forever. There is no `SYSLET_NO_COMPLETE` in the
//! safe API: a chain that ends there posts nothing, and its end could not
//! be seen.

use core::cell::{Cell, RefCell};
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::os::fd::{FromRawFd, OwnedFd};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::abi::{AsyncHead, Atom};
use crate::chain::{AtomId, Buf, BufMut, CellId, Chain, ChainError, Kind, StatxId, NOT_RUN};
use crate::fsdata::Statx;
use crate::nr;
use crate::raw::{self, Errno};

/// The most slots a ring may have.
pub const MAX_SLOTS: usize = 1 << 16;

/// Longest sleep between two looks at the ring in a wait with a timeout.
const POLL_MAX: Duration = Duration::from_millis(1);

/// `struct async_head_user` as the ring shares it with the kernel: the
/// kernel stores `kernel_ring_idx` (with release) while user space reads.
#[repr(C)]
struct Head {
    kernel_ring_idx: AtomicU64,
    user_ring_idx: AtomicU64,
    completion_ring: *mut AtomicPtr<Atom>,
    ring_size_bytes: u64,
    reserved: [usize; 4],
}

const _: () = assert!(core::mem::size_of::<Head>() == core::mem::size_of::<AsyncHead>());

/// Runs `f` with a completion ring of `slots` entries, and returns once
/// every chain submitted to it has completed (see the module's
/// documentation for why). Errors: `EINVAL` for 0 slots or more than
/// [`MAX_SLOTS`]; `f` did not run.
///
/// ```no_run
/// use std::os::fd::AsFd;
/// use syslet::{Chain, Submitted};
///
/// let file = std::fs::File::open("/etc/hostname")?;
/// let mut data = [0u8; 64];
/// let n = syslet::scope(4, |ring| {
///     let mut chain = Chain::new();
///     let buf = chain.buf_mut(&mut data);
///     let read = chain.read(file.as_fd(), buf);
///     let done = match ring.submit(chain).expect("a valid chain") {
///         Submitted::Done(c) => c,
///         Submitted::InFlight(_) => ring.next_completion(None).expect("completion"),
///     };
///     done.result(read)
/// })?;
/// assert!(n.unwrap() > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The borrow checker keeps every buffer alive while a chain holds it.
/// This compiles: the buffer comes back through the completion.
///
/// ```no_run
/// use std::os::fd::AsFd;
/// let file = std::fs::File::open("/dev/null").unwrap();
/// let mut data = vec![0u8; 64];
/// syslet::scope(4, |ring| {
///     let mut chain = syslet::Chain::new();
///     let buf = chain.buf_mut(&mut data);
///     chain.read(file.as_fd(), buf);
///     let submitted = ring.submit(chain);
///     std::mem::forget(submitted); // leaks the chain: the scope still waits
/// })
/// .unwrap();
/// drop(data); // after the scope: no chain can hold it any more
/// ```
///
/// Freeing the buffer while its chain may be in flight does not compile,
/// even with the submission leaked (`data` is borrowed until the scope
/// ends; assigning to it drops the old vector):
///
/// ```compile_fail,E0506
/// use std::os::fd::AsFd;
/// let file = std::fs::File::open("/dev/null").unwrap();
/// let mut data = vec![0u8; 64];
/// syslet::scope(4, |ring| {
///     let mut chain = syslet::Chain::new();
///     let buf = chain.buf_mut(&mut data);
///     chain.read(file.as_fd(), buf);
///     let submitted = ring.submit(chain);
///     std::mem::forget(submitted);
///     data = Vec::new(); // frees the buffer the kernel may still write
/// })
/// .unwrap();
/// ```
///
/// (`drop(data)` there fails too, twice over: the closure would take
/// `data` by value, so it would not outlive the closure (E0597), and it
/// would move a borrowed value (E0505).)
///
/// (These snippets' error codes are checked by `tests/compile_fail.rs`:
/// stable rustdoc only checks that they fail.)
///
/// Nor can a chain borrow a buffer that ends inside the scope:
///
/// ```compile_fail,E0597
/// use std::os::fd::AsFd;
/// let file = std::fs::File::open("/dev/null").unwrap();
/// syslet::scope(4, |ring| {
///     let mut data = vec![0u8; 64];
///     let mut chain = syslet::Chain::new();
///     let buf = chain.buf_mut(&mut data);
///     chain.read(file.as_fd(), buf);
///     let _ = ring.submit(chain);
/// })
/// .unwrap();
/// ```
///
/// Nor can the closure read the buffer while the chain holds it (it reads
/// it through [`Completion::buf`] instead):
///
/// ```compile_fail,E0502
/// use std::os::fd::AsFd;
/// let file = std::fs::File::open("/dev/null").unwrap();
/// let mut data = vec![0u8; 64];
/// syslet::scope(4, |ring| {
///     let mut chain = syslet::Chain::new();
///     let buf = chain.buf_mut(&mut data);
///     chain.read(file.as_fd(), buf);
///     let _ = ring.submit(chain);
///     println!("{}", data[0]);
/// })
/// .unwrap();
/// ```
pub fn scope<'env, F, T>(slots: usize, f: F) -> Result<T, Errno>
where
    F: for<'scope> FnOnce(&'scope Ring<'scope, 'env>) -> T,
{
    if slots == 0 || slots > MAX_SLOTS {
        return Err(Errno::EINVAL);
    }
    let ring = Ring::new(slots);
    let r = catch_unwind(AssertUnwindSafe(|| f(&ring)));
    // The ring's memory (Inner) waits for every chain in flight when it is
    // dropped, at the end of this function, on the way out of the panic
    // too. Nothing the closure did can skip that.
    match r {
        Ok(v) => Ok(v),
        Err(p) => resume_unwind(p),
    }
}

/// A chain's number in its ring, given at submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId(u64);

/// What [`Ring::submit`] did with a chain.
#[derive(Debug)]
pub enum Submitted<'scope> {
    /// The chain finished without going asynchronous (or `async_exec()`
    /// failed: [`Completion::end`]); nothing will appear in the ring.
    Done(Completion<'scope>),
    /// The chain went asynchronous: its completion will come from
    /// [`Ring::completions`], [`Ring::next_completion`], or, if nobody
    /// reaps it, it is waited for when the scope ends.
    InFlight(ChainId),
}

/// A chain [`Ring::submit`] refused, given back with the reason.
#[derive(Debug)]
pub struct Rejected<'scope> {
    /// The chain, unchanged.
    pub chain: Chain<'scope>,
    /// What is wrong with it.
    pub error: ChainError,
}

/// A completion ring and the chains in flight on it; see [`scope`].
pub struct Ring<'scope, 'env: 'scope> {
    inner: Inner,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

/// The ring's memory and its chains in flight, with their lifetime
/// erased: `Ring` has no `Drop` of its own (a `Drop` on a type holding
/// `'scope` would need `'scope` alive when [`scope`] drops it, which it is
/// not), and this one's `Drop` waits for every chain before freeing.
struct Inner {
    head: *mut Head,
    slots: *mut [AtomicPtr<Atom>],
    user_idx: Cell<u64>,
    next_id: Cell<u64>,
    /// Chains in flight (and completed, not yet reaped), by `private` tag.
    flight: RefCell<Vec<Option<(ChainId, Chain<'static>)>>>,
    in_flight: Cell<usize>,
}

/// `Chain<'static>` back to the scope's lifetime it was submitted with.
fn restore<'scope>(c: Chain<'static>) -> Chain<'scope> {
    c
}

impl<'scope, 'env> Ring<'scope, 'env> {
    fn new(n: usize) -> Self {
        let slots: Box<[AtomicPtr<Atom>]> = (0..n).map(|_| AtomicPtr::new(ptr::null_mut())).collect();
        let slots = Box::into_raw(slots);
        let head = Box::into_raw(Box::new(Head {
            kernel_ring_idx: AtomicU64::new(0),
            user_ring_idx: AtomicU64::new(0),
            completion_ring: slots as *mut AtomicPtr<Atom>,
            ring_size_bytes: (n * 8) as u64,
            reserved: [0; 4],
        }));
        let inner = Inner {
            head,
            slots,
            user_idx: Cell::new(0),
            next_id: Cell::new(0),
            flight: RefCell::new(Vec::new()),
            in_flight: Cell::new(0),
        };
        Ring { inner, _scope: PhantomData, _env: PhantomData }
    }

    /// The ring's number of slots.
    pub fn slots(&self) -> usize {
        self.inner.slots.len()
    }

    /// Chains that went asynchronous and whose completion was not reaped.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.get()
    }

    /// Completions in the ring, not yet reaped.
    pub fn ready(&self) -> usize {
        self.inner.ready()
    }

    /// Runs `chain`. It is checked first ([`Chain::check`]; a chain that
    /// fails comes back in [`Rejected`]), then handed to `async_exec()`,
    /// and from then on it belongs to the ring until its completion.
    pub fn submit(&self, mut chain: Chain<'scope>) -> Result<Submitted<'scope>, Rejected<'scope>> {
        let inner = &self.inner;
        let mut flight = inner.flight.borrow_mut();
        let tag = flight.iter().position(Option::is_none).unwrap_or(flight.len());
        let first = match chain.prepare(tag) {
            Ok(a) => a,
            Err(error) => return Err(Rejected { chain, error }),
        };
        let id = ChainId(inner.next_id.get());
        inner.next_id.set(id.0 + 1);
        if tag == flight.len() {
            flight.push(None);
        }
        // The ring owns the chain before the kernel sees it. Its borrows
        // last for 'scope, and Inner is dropped, waiting for the chain,
        // before scope() returns: erasing the lifetime here loses nothing.
        // SAFETY: the types differ in a lifetime only.
        let erased = unsafe { core::mem::transmute::<Chain<'scope>, Chain<'static>>(chain) };
        flight[tag] = Some((id, erased));
        drop(flight);
        // SAFETY: the chain's atoms, cells and owned structures live until
        // it is dropped, which the ring does only after its completion
        // (or at once, below, when it never went asynchronous); its
        // borrowed buffers live for 'scope, which outlasts the ring; the
        // head and slots live as long as the ring, which waits for every
        // chain in flight before freeing them.
        let r = unsafe { raw::async_exec(first, inner.head as *mut AsyncHead) };
        match r {
            Ok(p) if p.is_null() => {
                inner.in_flight.set(inner.in_flight.get() + 1);
                Ok(Submitted::InFlight(id))
            }
            Ok(p) => {
                let chain = restore(inner.take(tag));
                let end = chain.atom_at(p).map(|index| AtomId { chain: chain.id(), index });
                let end = end.expect("async_exec() returned an atom of the chain");
                Ok(Submitted::Done(Completion { id, chain, end: Ok(end), went_async: false }))
            }
            Err(e) => {
                let chain = restore(inner.take(tag));
                Ok(Submitted::Done(Completion { id, chain, end: Err(e), went_async: false }))
            }
        }
    }

    fn reap(&self) -> Option<Completion<'scope>> {
        self.inner.reap().map(|(id, chain, end)| Completion { id, chain: restore(chain), end: Ok(end), went_async: true })
    }

    /// The completions in the ring now, in the order they were posted; the
    /// iterator never waits.
    pub fn completions(&self) -> Completions<'_, 'scope, 'env> {
        Completions { ring: self }
    }

    /// Waits until at least `min` completions are in the ring, or
    /// `timeout` passed (`None`: no limit), and returns how many are.
    ///
    /// The kernel's `async_wait()` has no timeout. Without one this waits
    /// in `async_wait()`; with one it looks at the ring index the kernel
    /// advances and sleeps between looks, for at most a millisecond, so a
    /// completion may be seen up to that late. Errors: `ETIMEDOUT`;
    /// `EINVAL` when `min` exceeds the chains in flight (it could never be
    /// met) or the ring's slots; `EINTR` when a signal interrupts the
    /// wait without a timeout (with `SA_RESTART` it goes on).
    pub fn wait(&self, min: usize, timeout: Option<Duration>) -> Result<usize, Errno> {
        self.inner.wait(min, timeout)
    }

    /// The next completion: at once if one is in the ring, else after
    /// [`wait`](Ring::wait)ing for one (its errors; `EINVAL` when no chain
    /// is in flight).
    pub fn next_completion(&self, timeout: Option<Duration>) -> Result<Completion<'scope>, Errno> {
        loop {
            if let Some(c) = self.reap() {
                return Ok(c);
            }
            self.wait(1, timeout)?;
        }
    }
}

impl Inner {
    fn head(&self) -> &Head {
        // SAFETY: allocated in new(), freed in drop(); the kernel only
        // stores kernel_ring_idx, which is atomic.
        unsafe { &*self.head }
    }

    fn ready(&self) -> usize {
        self.head().kernel_ring_idx.load(Ordering::Acquire).wrapping_sub(self.user_idx.get()) as usize
    }

    fn take(&self, tag: usize) -> Chain<'static> {
        self.flight.borrow_mut()[tag].take().expect("a chain in flight").1
    }

    /// The next completion in the ring, if there is one; never waits.
    fn reap(&self) -> Option<(ChainId, Chain<'static>, AtomId)> {
        let u = self.user_idx.get();
        if self.head().kernel_ring_idx.load(Ordering::Acquire) == u {
            return None;
        }
        // SAFETY: slots lives as long as the ring.
        let slots = unsafe { &*self.slots };
        let slot = &slots[(u % slots.len() as u64) as usize];
        let p = slot.load(Ordering::Acquire);
        if p.is_null() {
            abort("a ring index advanced over an empty slot");
        }
        slot.store(ptr::null_mut(), Ordering::Release);
        self.user_idx.set(u.wrapping_add(1));
        self.head().user_ring_idx.store(u.wrapping_add(1), Ordering::Relaxed);
        // SAFETY: only the ring's chains post here, and their atoms carry
        // their tag in `private`, which the kernel never writes.
        let tag = unsafe { ptr::read_volatile(&(*p).private) } as usize;
        let (id, chain) = match self.flight.borrow_mut().get_mut(tag).and_then(Option::take) {
            Some(c) => c,
            None => abort("a completion of no chain in flight"),
        };
        let Some(index) = chain.atom_at(p) else { abort("a completion outside its chain") };
        self.in_flight.set(self.in_flight.get() - 1);
        let end = AtomId { chain: chain.id(), index };
        Some((id, chain, end))
    }

    fn wait(&self, min: usize, timeout: Option<Duration>) -> Result<usize, Errno> {
        if min > self.in_flight.get() || min > self.slots.len() {
            return Err(Errno::EINVAL);
        }
        let Some(timeout) = timeout else {
            let head = self.head as usize;
            // SAFETY: the kernel only reads the head.
            let r = unsafe { raw::syscall3(nr::ASYNC_WAIT, min, self.user_idx.get() as usize, head) };
            return raw::decode(r);
        };
        let start = Instant::now();
        let mut nap = Duration::from_micros(20);
        loop {
            let n = self.ready();
            if n >= min {
                return Ok(n);
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(Errno::ETIMEDOUT);
            }
            std::thread::sleep(nap.min(left));
            nap = (nap * 2).min(POLL_MAX);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        while self.in_flight.get() > 0 {
            while self.reap().is_some() {}
            if self.in_flight.get() == 0 {
                break;
            }
            match self.wait(1, None) {
                Ok(_) | Err(Errno::EINTR) => {}
                // The chains may still write their memory: returning would
                // let the caller free it.
                Err(e) => abort(&format!("async_wait() failed with {e:?} while chains are in flight")),
            }
        }
        // SAFETY: no chain is in flight: nothing will post to the ring.
        unsafe {
            drop(Box::from_raw(self.head));
            drop(Box::from_raw(self.slots));
        }
    }
}

fn abort(why: &str) -> ! {
    eprintln!("syslet: {why}; aborting");
    std::process::abort()
}

/// Iterator of [`Ring::completions`].
pub struct Completions<'r, 'scope, 'env> {
    ring: &'r Ring<'scope, 'env>,
}

impl<'scope> Iterator for Completions<'_, 'scope, '_> {
    type Item = Completion<'scope>;
    fn next(&mut self) -> Option<Completion<'scope>> {
        self.ring.reap()
    }
}

/// A chain that has finished, with its results and buffers.
#[derive(Debug)]
pub struct Completion<'scope> {
    id: ChainId,
    chain: Chain<'scope>,
    end: Result<AtomId, Errno>,
    went_async: bool,
}

impl<'scope> Completion<'scope> {
    /// The number [`Ring::submit`] gave the chain.
    pub fn id(&self) -> ChainId {
        self.id
    }

    /// Whether the chain went asynchronous (its completion came from the
    /// ring).
    pub fn went_async(&self) -> bool {
        self.went_async
    }

    /// The atom the chain ended at, or the error of `async_exec()` itself
    /// for a chain that did not go asynchronous (`EINTR`, `EAGAIN`,
    /// `EOPNOTSUPP`, `ECANCELED`, `ENOSYS` on a kernel without syslets;
    /// Documentation/syslets.md): the atoms before it have run.
    pub fn end(&self) -> Result<AtomId, Errno> {
        self.end
    }

    /// What `atom` stored, or `None` if it did not run. (A `umem_add` sum
    /// of exactly `0x8000_0000_ffff_fff7` also reads as `None`.)
    pub fn result(&self, atom: AtomId) -> Option<i64> {
        let r = self.chain.result_raw(self.chain.index(atom));
        (r != NOT_RUN).then_some(r)
    }

    /// [`result`](Completion::result) split into a value or an errno.
    pub fn outcome(&self, atom: AtomId) -> Option<Result<u64, Errno>> {
        self.result(atom).map(|r| raw::decode(r as isize).map(|v| v as u64))
    }

    /// A lent buffer, with what the kernel wrote into it.
    pub fn buf(&self, buf: impl Into<Buf>) -> &[u8] {
        let b = buf.into();
        let (p, len) = self.chain.buf_range(b.chain, b.index);
        // SAFETY: lent to the chain for 'scope; the kernel is done with it
        // and the chain gives it out only through &self.
        unsafe { core::slice::from_raw_parts(p.cast_const(), len) }
    }

    /// A writable lent buffer, to change before the chain runs again.
    pub fn buf_mut(&mut self, buf: BufMut) -> &mut [u8] {
        let (p, len) = self.chain.buf_range(buf.chain, buf.index);
        // SAFETY: lent as &mut for 'scope; the kernel is done with it.
        unsafe { core::slice::from_raw_parts_mut(p, len) }
    }

    /// A lent counter's value.
    pub fn cell(&self, cell: CellId) -> u64 {
        // SAFETY: lent as &mut for 'scope; the kernel is done with it.
        unsafe { ptr::read_volatile(self.chain.cell_ptr(cell)) }
    }

    /// What a `statx` atom filled in, if it ran and succeeded.
    pub fn statx(&self, s: StatxId) -> Option<&Statx> {
        matches!(self.result(s.atom), Some(0)).then(|| {
            // SAFETY: owned by the chain; the kernel is done with it.
            unsafe { &*self.chain.statx_ptr(s) }
        })
    }

    /// The descriptor an `openat` atom opened, once; `None` if it did not
    /// run, failed, was taken already or `atom` is not an `openat`.
    pub fn take_fd(&mut self, atom: AtomId) -> Option<OwnedFd> {
        let i = self.chain.index(atom);
        let r = self.result(atom)?;
        if self.chain.kind(i) != Kind::Open || !(0..=i32::MAX as i64).contains(&r) {
            return None;
        }
        // SAFETY: the chain's openat made it; marked taken, so the chain
        // will not close it, and handed over once.
        self.chain.take_mark(i).then(|| unsafe { OwnedFd::from_raw_fd(r as i32) })
    }

    /// The chain, to submit again (with new contents in its buffers,
    /// say) or to drop.
    pub fn into_chain(self) -> Chain<'scope> {
        self.chain
    }
}
