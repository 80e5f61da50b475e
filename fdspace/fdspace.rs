// SPDX-License-Identifier: GPL-2.0

//! The private, non-linear file descriptor space.
//!
//! C header: [`include/linux/fdspace.h`](srctree/include/linux/fdspace.h);
//! user ABI: [`include/uapi/linux/fdspace.h`](srctree/include/uapi/linux/fdspace.h);
//! design and semantics: `Documentation/fdspace.md`.
//!
//! Linus's proposal in the 2007 thread: a second descriptor space for
//! libraries and runtimes, with bit 30 set, numbers deliberately
//! unpredictable, real fds in every other way. A descriptor of this space
//! is never returned by a call that must return the lowest free number,
//! and is allocated in O(1) whatever the number of open descriptors.
//!
//! # Layout
//!
//! One [`FdSpace`] per `files_struct` (its `fdspace` field), made on first
//! use. Descriptors are *slots* numbered densely from 0; slot `i` is
//! descriptor `NONLINEAR_FD | scramble(i)`, where `scramble` is
//! `i * mult ^ key` modulo 2^30 with a random odd `mult` and a random `key`
//! per space: a bijection, so lookup inverts it in O(1), while the numbers
//! a process sees have no order or density to rely on. A fork keeps the
//! parent's numbers (and scramble). The slots live in 4 KiB chunks of 512
//! file pointers, reached through a fixed directory of 4096 chunk
//! pointers (2M descriptors at most); chunks are only ever added, never
//! moved or freed before the space, so a lookup is two dependent loads
//! under RCU with no retry and no lock, like the fd array's. The first
//! chunk is made with the space and also reached from its header, so a
//! process with up to 512 private descriptors never touches the
//! directory (what counts when the caches are cold).
//!
//! A slot number that comes from user space (a made-up descriptor) is
//! clamped with `array_index_nospec()` before the directory is indexed,
//! as the fd array's lookups clamp theirs (Spectre v1).
//!
//! # Allocation
//!
//! Free slots are a stack (the last 8 in the header, older ones in
//! `Alloc::free`) plus a high-water mark, under one spinlock held for a
//! few instructions: a pop, a push or an increment. A new chunk is
//! allocated outside the lock and published with a compare-exchange.
//! Installing a file into a reserved slot and looking one up take no lock.
//!
//! # RLIMIT_NOFILE
//!
//! Once a process has a space, linear and private descriptors together
//! stay within `RLIMIT_NOFILE`: [`FdSpace::total`] counts both, private
//! reservations charge it here, linear opens charge it from `fs/file.c`
//! (`fdspace_charge()`, under the table's `file_lock`). A process without
//! a space keeps the stock rule (only linear numbers below the limit) and
//! pays one load per linear open and close.
//!
//! # Locks
//!
//! `Alloc`'s spinlock is innermost: it is taken under the table's
//! `file_lock` (`iterate_fd()`, a close through `file_close_fd_locked()`)
//! and under `task_lock` (`/proc/<pid>/fdspace`), never the other way
//! round. Nothing here sleeps under either.

use core::{
    ffi::c_void,
    ops::Range,
    ptr,
    sync::atomic::{AtomicPtr, AtomicU32, Ordering},
};
use kernel::{
    alloc::{flags::__GFP_ZERO, KVBox},
    bindings, new_spinlock,
    prelude::*,
    sync::SpinLock,
};

mod exports;

// The C ABI of the crate: what `include/linux/fdspace.h` declares.
pub use exports::{
    fdspace_alloc_install, fdspace_charge, fdspace_close, fdspace_close_all, fdspace_close_range,
    fdspace_collect, fdspace_dup, fdspace_entry, fdspace_install, fdspace_iterate,
    fdspace_private_count, fdspace_release, fdspace_reserve, fdspace_uncharge, fdspace_unreserve,
};

/// Prefix of this crate's `pr_*!` messages.
const __LOG_PREFIX: &[u8] = b"fdspace\0";

/// Bit 30: the private space (`NONLINEAR_FD` in the uapi header).
const NONLINEAR_FD: u32 = 1 << 30;
const MASK: u32 = NONLINEAR_FD - 1;
const CHUNK_SHIFT: u32 = 9;
const CHUNK_SLOTS: usize = 1 << CHUNK_SHIFT;
const CHUNKS: usize = 4096;
/// Slots a space can hold.
const MAX_SLOTS: u32 = (CHUNKS * CHUNK_SLOTS) as u32;

type Chunk = [AtomicPtr<bindings::file>; CHUNK_SLOTS];

/// Closed slots kept in the space's header before `Alloc::free` (a
/// separate allocation, one more cache line to miss) is used.
const FREE_INLINE: usize = 8;

/// Free slots of a space.
struct Alloc {
    /// Closed slots, reused first (while it has room, every closed slot
    /// goes here).
    free_inline: [u32; FREE_INLINE],
    /// How many of `free_inline` are in use.
    n_inline: usize,
    /// Slots closed while `free_inline` was full, reused last-in
    /// first-out.
    free: KVec<u32>,
    /// Slots never used start here.
    next: u32,
    /// Private descriptors open (or reserved).
    open: u32,
}

/// `KVec::pop`, which this kernel's `Vec` lacks.
fn pop(v: &mut KVec<u32>) -> Option<u32> {
    let n = v.len().checked_sub(1)?;
    let last = v[n];
    // SAFETY: `n` < len; `u32` needs no drop.
    unsafe { v.set_len(n) };
    Some(last)
}

impl Alloc {
    /// A closed slot to reuse, if any.
    fn pop_free(&mut self) -> Option<u32> {
        if self.n_inline > 0 {
            self.n_inline -= 1;
            return Some(self.free_inline[self.n_inline]);
        }
        pop(&mut self.free)
    }

    /// Keeps `slot` for reuse. Fails only if the stack cannot grow.
    fn push_free(&mut self, slot: u32) -> Result {
        if self.n_inline < FREE_INLINE {
            self.free_inline[self.n_inline] = slot;
            self.n_inline += 1;
            return Ok(());
        }
        self.free.push(slot, GFP_ATOMIC).map_err(|_| ENOMEM)
    }
}

/// The private descriptor space of one `files_struct`.
#[pin_data(PinnedDrop)]
pub struct FdSpace {
    mult: u32,
    inverse: u32,
    key: u32,
    /// Descriptors open in the linear table and in this space together:
    /// what `RLIMIT_NOFILE` bounds once the process has a space. Set to
    /// the linear count when the space is published (`fdspace_publish()`,
    /// under the table's `file_lock`); from then on each linear open and
    /// close (under `file_lock`) and each private reservation and release
    /// charges or uncharges it. Changed by compare-exchange only, so a
    /// linear and a private open racing for the last descriptor cannot
    /// both get it.
    total: AtomicU32,
    #[pin]
    alloc: SpinLock<Alloc>,
    /// The first chunk (slots 0-511), also `chunks[0]`: made with the
    /// space, so a process with few private descriptors reaches them
    /// from this header without touching the directory.
    chunk0: *mut Chunk,
    /// The chunk directory (32 KiB: allocated apart, zeroed in place).
    chunks: KVBox<[AtomicPtr<Chunk>; CHUNKS]>,
}

#[pinned_drop]
impl PinnedDrop for FdSpace {
    /// Frees the chunks (with the space, never before: lookups hold no
    /// reference to them).
    fn drop(self: Pin<&mut Self>) {
        for c in self.chunks.iter() {
            let chunk = c.load(Ordering::Acquire);
            if !chunk.is_null() {
                // SAFETY: published chunks (`chunk0` among them) are
                // boxes owned by the space.
                drop(unsafe { KBox::from_raw(chunk) });
            }
        }
    }
}

// SAFETY: `chunk0` is a chunk of atomics owned by the space, like the
// directory's; the rest is `Send`/`Sync` already.
unsafe impl Send for FdSpace {}
// SAFETY: shared access to `chunk0` is through its atomics only; the
// other fields are `Sync` already.
unsafe impl Sync for FdSpace {}

impl FdSpace {
    fn new(mult: u32, key: u32, chunk0: *mut Chunk, chunks: KVBox<[AtomicPtr<Chunk>; CHUNKS]>) -> impl PinInit<Self> {
        chunks[0].store(chunk0, Ordering::Relaxed);
        // The inverse of an odd number modulo 2^32 by Newton's iteration
        // (each step doubles the correct low bits: 5 steps give 32).
        let mut inverse = mult;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u32.wrapping_sub(mult.wrapping_mul(inverse)));
        }
        pin_init!(Self {
            mult,
            inverse: inverse & MASK,
            key,
            total: AtomicU32::new(0),
            alloc <- new_spinlock!(
                Alloc { free_inline: [0; FREE_INLINE], n_inline: 0, free: KVec::new(), next: 0, open: 0 },
                "fdspace::FdSpace::alloc"
            ),
            chunk0,
            chunks,
        })
    }

    fn fd_of(&self, slot: u32) -> u32 {
        NONLINEAR_FD | (slot.wrapping_mul(self.mult) ^ self.key) & MASK
    }

    /// The slot of `fd`, if it is a number this space hands out.
    fn slot_of(&self, fd: u32) -> Option<u32> {
        if fd & !MASK != NONLINEAR_FD {
            return None;
        }
        let slot = ((fd & MASK) ^ self.key).wrapping_mul(self.inverse) & MASK;
        (slot < MAX_SLOTS).then_some(slot)
    }

    /// The chunk of `slot`, if it exists. Lock-free.
    ///
    /// `slot` may come from user space (a made-up descriptor number): past
    /// the bounds check it is clamped with `array_index_nospec()`, so a
    /// mispredicted check cannot load a chunk pointer from beyond the
    /// directory and then a file pointer from wherever that points.
    fn chunk(&self, slot: u32) -> Option<&Chunk> {
        if slot >= MAX_SLOTS {
            return None;
        }
        let slot = index_nospec(slot, MAX_SLOTS);
        let chunk = if (slot as usize) < CHUNK_SLOTS {
            self.chunk0
        } else {
            self.chunks[(slot >> CHUNK_SHIFT) as usize].load(Ordering::Acquire)
        };
        // SAFETY: published chunks live as long as the space.
        (!chunk.is_null()).then(|| unsafe { &*chunk })
    }

    /// The file pointer of `slot`, if its chunk exists. Lock-free.
    fn entry(&self, slot: u32) -> Option<&AtomicPtr<bindings::file>> {
        // The in-chunk index is masked: in bounds even under speculation.
        self.chunk(slot).map(|c| &c[slot as usize & (CHUNK_SLOTS - 1)])
    }

    /// Counts one more descriptor, linear or private: `EMFILE` if `nofile`
    /// are open already.
    fn charge(&self, nofile: u64) -> Result {
        self.total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                if u64::from(n) < nofile {
                    n.checked_add(1)
                } else {
                    None
                }
            })
            .map(|_| ())
            .map_err(|_| EMFILE)
    }

    /// Counts one descriptor less.
    fn uncharge(&self) {
        // Every uncharge follows its charge (or the count taken when the
        // space was published): never below zero, and if a bug made it so
        // the count stays at zero rather than wrap and lock the process
        // out of every descriptor.
        let _ = self
            .total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Makes sure the chunk of `slot` exists. May sleep.
    fn populate(&self, slot: u32) -> Result {
        if (slot as usize) < CHUNK_SLOTS {
            return Ok(()); // `chunk0`, made with the space
        }
        let dir = &self.chunks[(slot >> CHUNK_SHIFT) as usize];
        if !dir.load(Ordering::Acquire).is_null() {
            return Ok(());
        }
        // All-zero is an array of null pointers.
        let chunk = KBox::<Chunk>::new_uninit(GFP_KERNEL_ACCOUNT | __GFP_ZERO)?;
        // SAFETY: zeroed memory is a valid `Chunk`.
        let raw = KBox::into_raw(unsafe { chunk.assume_init() });
        if dir.compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // SAFETY: not published; ours.
            drop(unsafe { KBox::from_raw(raw) });
        }
        Ok(())
    }

    /// Reserves a slot and returns its descriptor. Errors: `EMFILE` at
    /// `nofile` descriptors (linear and private) or when the space is
    /// full, `ENOMEM`.
    fn reserve(&self, nofile: u64) -> Result<u32> {
        self.charge(nofile)?;
        let slot = {
            let mut a = self.alloc.lock();
            let slot = match a.pop_free() {
                Some(s) => Some(s),
                None => {
                    // The number NONLINEAR_FD itself means "give me one"
                    // to dup2(): never hand it out.
                    if self.fd_of(a.next) == NONLINEAR_FD {
                        a.next += 1;
                    }
                    if a.next < MAX_SLOTS {
                        a.next += 1;
                        Some(a.next - 1)
                    } else {
                        None
                    }
                }
            };
            if slot.is_some() {
                a.open += 1;
            }
            slot
        };
        let Some(slot) = slot else {
            self.uncharge();
            return Err(EMFILE);
        };
        if let Err(e) = self.populate(slot) {
            self.release_slot(slot);
            return Err(e);
        }
        Ok(self.fd_of(slot))
    }

    fn release_slot(&self, slot: u32) {
        {
            let mut a = self.alloc.lock();
            a.open -= 1;
            // A push that cannot grow the stack leaks the slot number,
            // never a file: the stack has room for every slot ever handed
            // out but one allocation may fail under memory pressure.
            let _ = a.push_free(slot);
        }
        self.uncharge();
    }

    /// Takes the file out of `fd`'s slot and frees the slot.
    fn close(&self, fd: u32) -> *mut bindings::file {
        let Some(slot) = self.slot_of(fd) else { return ptr::null_mut() };
        let Some(entry) = self.entry(slot) else { return ptr::null_mut() };
        let file = entry.swap(ptr::null_mut(), Ordering::AcqRel);
        if !file.is_null() {
            self.release_slot(slot);
        }
        file
    }

    /// Slots in use or used before: the high-water mark.
    fn next(&self) -> u32 {
        self.alloc.lock().next
    }

    /// Calls `f` with the descriptor and entry of each occupied slot of
    /// `slots`, while it returns true; returns the slot it stopped at
    /// (`slots.end` if `f` never said stop). Chunks never made are
    /// skipped whole. Lock-free, never sleeps.
    fn for_each_in(
        &self,
        slots: Range<u32>,
        mut f: impl FnMut(u32, &AtomicPtr<bindings::file>) -> bool,
    ) -> u32 {
        let mut slot = slots.start;
        while slot < slots.end {
            // `slot` < `slots.end` <= MAX_SLOTS: no overflow.
            let end = (((slot >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT).min(slots.end);
            if let Some(chunk) = self.chunk(slot) {
                for s in slot..end {
                    let e = &chunk[s as usize & (CHUNK_SLOTS - 1)];
                    if !e.load(Ordering::Acquire).is_null() && !f(self.fd_of(s), e) {
                        return s;
                    }
                }
            }
            slot = end;
        }
        slots.end
    }
}

/// `array_index_nospec(index, size)`: `index` if it is below `size`, 0
/// otherwise, also under speculation.
fn index_nospec(index: u32, size: u32) -> u32 {
    // SAFETY: arithmetic on two integers, no preconditions.
    let i = unsafe { bindings::fdspace_index_nospec(index as _, size as _) };
    // The result is `index` or 0: a `u32`.
    i as u32
}

/// The space a `files_struct`'s field points to, if any.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct`.
unsafe fn space<'a>(field: *mut *mut c_void) -> Option<&'a FdSpace> {
    // SAFETY: the field is only written when a space is published
    // (`fdspace_publish()`, a release store under the table's lock) and
    // cleared when the files_struct dies (`fdspace_release`).
    let p = unsafe { AtomicPtr::from_ptr(field) }.load(Ordering::Acquire) as *const FdSpace;
    // SAFETY: a published space lives as long as its files_struct.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// The space of `field`, made on first use.
///
/// # Safety
///
/// As for [`space`].
unsafe fn get_or_make<'a>(field: *mut *mut c_void, scramble: impl FnOnce() -> (u32, u32)) -> Result<&'a FdSpace> {
    // SAFETY: as the caller's.
    if let Some(s) = unsafe { space(field) } {
        return Ok(s);
    }
    let (mult, key) = scramble();
    let dir = KVBox::<[AtomicPtr<Chunk>; CHUNKS]>::new_uninit(GFP_KERNEL_ACCOUNT | __GFP_ZERO)?;
    // SAFETY: zeroed memory is an array of null pointers.
    let dir = unsafe { dir.assume_init() };
    let chunk0 = KBox::<Chunk>::new_uninit(GFP_KERNEL_ACCOUNT | __GFP_ZERO)?;
    // SAFETY: zeroed memory is a valid `Chunk`. Once the space is
    // initialized, it owns the chunk (see its `PinnedDrop`).
    let chunk0 = KBox::into_raw(unsafe { chunk0.assume_init() });
    let new = match KBox::pin_init(FdSpace::new(mult | 1, key & MASK, chunk0, dir), GFP_KERNEL_ACCOUNT) {
        Ok(new) => new,
        Err(e) => {
            // SAFETY: not published; ours (the directory went with the
            // failed initializer).
            drop(unsafe { KBox::from_raw(chunk0) });
            return Err(e);
        }
    };
    // SAFETY: the space is never moved out of its box again.
    let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(new) });
    // SAFETY: `raw` is valid and nobody else sees it yet.
    let total = unsafe { (*raw).total.as_ptr() };
    // SAFETY: `field` belongs to a live files_struct (the caller's
    // contract); `total` lives as long as `raw`. Publishes under the
    // table's lock, with the count of linear descriptors.
    let other = unsafe { bindings::fdspace_publish(field, raw as *mut c_void, total) };
    if !other.is_null() {
        // SAFETY: ours, not published.
        drop(unsafe { KBox::from_raw(raw) });
        // SAFETY: published by the winner, lives as long as the field.
        return Ok(unsafe { &*(other as *const FdSpace) });
    }
    // SAFETY: just published.
    Ok(unsafe { &*raw })
}

fn random_u32() -> u32 {
    // SAFETY: no preconditions.
    unsafe { bindings::get_random_u32() }
}
