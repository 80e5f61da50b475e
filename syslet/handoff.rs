// SPDX-License-Identifier: GPL-2.0

//! The cachemiss handoff: no thread switch unless a call really blocks.
//!
//! C glue: [`syslet/handoff.c`](srctree/syslets/syslet/handoff.c) (the
//! register frame, FPU, FS/GS, signals, TIDs); hooks in
//! `sched_submit_work()` and `do_exit()` (patches/0004).
//!
//! # The idea
//!
//! `async_exec()` runs the chain in the calling task T. While an atom's
//! system call runs, T is *armed*: `PF_SYSLET_HANDOFF` is set and
//! `worker_private` points to an [`Armed`] record on T's stack. If the call
//! sleeps, `sched_submit_work()` calls [`syslet_task_sleeping`], which
//! hands T's user context (the register frame of its `async_exec()` call,
//! FPU state, FS/GS bases, signal mask and the per-thread user pointers)
//! to a *spare thread* S and wakes it. S returns to user space as if
//! `async_exec()` had returned NULL; T sleeps on, finishes the chain,
//! posts its completion to the ring and becomes a spare thread itself. A
//! chain that never blocks costs the system calls and nothing else.
//!
//! Threadlets use the same move with a register frame saved by
//! `threadlet_on()` ([`crate::threadlet`]), and fs/aio.c's buffered
//! writes with `io_submit()`'s frame ([`run_armed`], `aio/`), whose
//! context returns the count of iocbs submitted rather than 0.
//!
//! # Spare threads
//!
//! A spare is a user thread of the process (CLONE_VM|FS|FILES|SIGHAND|
//! THREAD|SYSVSEM|IO) parked in the kernel with every signal blocked.
//! New ones start in [`spare_main`] (`user_mode_thread()`: they begin in
//! the kernel and leave through `ret_from_fork` with the frame they were
//! given); a task whose context was taken parks inside its own system call
//! (`async_exec()` or `threadlet_off()`), which then returns 0 to the
//! context it is given. Spares are made before a chain runs (the hook
//! never forks), at most `syslet_max_threads` per process, and exit after
//! `syslet_idle_msecs` idle. The thread group leader never becomes a
//! spare: once its context has moved it sleeps until the process ends
//! (it keeps its TID, see below, and an early exit would leave a zombie
//! in front of the live process).
//!
//! # Thread ids
//!
//! The TID follows the user context (`exchange_tids()`, as exec does): the
//! caller's `gettid()` does not change across a handoff, so
//! `pthread_kill()`, PI and robust futexes (whose words hold TIDs) and
//! `clear_child_tid` keep working; T goes on under S's old TID. The one
//! exception is the thread group leader: `wait()`, `waitid()` and job
//! control find and report a process by its leader's TID, so the leader
//! keeps it and never serves as a spare. The main thread's context gets
//! the spare's TID at its first handoff (the 2007 v7 behaviour) and keeps
//! that one from then on; what is addressed to the old TID (`tgkill()`, a
//! PI futex it held) reaches the sleeping leader instead. `getpid()`
//! never changes.
//!
//! # When there is no handoff
//!
//! Decided before the chain runs ([`can_hand_off`]), with the engine's
//! async-thread model as the fallback: a ptraced task, an RT or deadline
//! task, a PI-futex or rt-mutex owner, a vfork child, an io_uring user, a
//! compat task or one with FS/GS selectors, AMX-style dynamic FPU state
//! or a user shadow stack. Decided in the hook, the atom then simply
//! blocks in the caller: a signal already pending (it is delivered when
//! `async_exec()` returns), no parked spare, or a spare with other
//! credentials, seccomp filters or `no_new_privs` than the caller's.
//!
//! # Locks
//!
//! `Process::inner` may be held when taking `Spare::state`; never the
//! reverse. The hook takes both (spinlocks) and `siglock` (in C), never
//! sleeps and never allocates.

use crate::{
    engine::{self, Runner},
    pool::{current, msecs_to_jiffies, sysctl, Live, Process},
    trace::{self, AsyncReason},
};
use core::{
    cell::Cell,
    ffi::{c_int, c_void},
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    bindings, new_condvar, new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, CondVar, CondVarTimeoutResult, SpinLock},
};
#[cfg(CONFIG_SYSLET_AIO)]
use kernel::{task::Task, types::ARef};

const SCHED_FIFO: u32 = 1;
const SCHED_RR: u32 = 2;
const SCHED_DEADLINE: u32 = 6;

/// Whether the current task's user context may move to a spare thread.
/// The cases that may not are listed in the module documentation; they
/// use the engine's async threads instead.
///
/// Every condition is evaluated and combined with `|`, not `||`, each
/// through [`opaque`]: one branch instead of one per condition, which an
/// emulating CPU pays for as a translation block each (every
/// `async_exec()` asks).
#[inline]
pub(crate) fn can_hand_off() -> bool {
    /// `policy` values of `SCHED_FIFO`, `SCHED_RR`, `SCHED_DEADLINE`.
    const RT_POLICIES: u32 = 1 << SCHED_FIFO | 1 << SCHED_RR | 1 << SCHED_DEADLINE;
    let t = current();
    let mut refused = opaque(sysctl(ptr::addr_of!(bindings::sysctl_syslet_handoff)) == 0);
    // SAFETY: `current` is valid and these are its own fields.
    unsafe {
        refused |= opaque((*t).ptrace != 0);
        // `policy` is below 32 (SCHED_* values); a larger one refuses.
        refused |= opaque((RT_POLICIES.checked_shr((*t).policy).unwrap_or(1) & 1) != 0);
        refused |= opaque(!(*t).vfork_done.is_null());
        #[cfg(CONFIG_FUTEX_PI)]
        {
            refused |= opaque(!ptr::eq((*t).pi_state_list.next, ptr::addr_of_mut!((*t).pi_state_list)));
        }
        #[cfg(CONFIG_RT_MUTEXES)]
        {
            refused |= opaque(!(*t).pi_waiters.rb_root.rb_node.is_null());
        }
        #[cfg(CONFIG_IO_URING)]
        {
            refused |= opaque(!(*t).io_uring.is_null());
        }
    }
    (refused | context_refused()) == 0
}

/// Whether syslet/handoff.c can carry the current task's user context: a
/// 64-bit task with null FS/GS selectors, the default FPU buffer (no
/// AMX-style dynamic features) and no user shadow stack.
#[inline(always)]
fn context_movable() -> bool {
    context_refused() == 0
}

/// [`context_movable`]'s conditions, combined as in [`can_hand_off`]:
/// nonzero if one refuses.
#[inline(always)]
fn context_refused() -> u8 {
    let t = current();
    let (fs, gs): (u16, u16);
    // SAFETY: reads this CPU's FS and GS selectors, which are the current
    // task's user ones while it is in a system call (the kernel uses
    // neither selector), as `savesegment()` does.
    unsafe {
        core::arch::asm!(
            "mov {fs:x}, fs",
            "mov {gs:x}, gs",
            fs = out(reg) fs,
            gs = out(reg) gs,
            options(nomem, nostack, preserves_flags),
        );
    }
    let mut refused = opaque((fs | gs) != 0);
    // SAFETY: `current`'s own thread_info and FPU state, which only it
    // changes; `fpstate` always points to a live buffer (the embedded
    // `__fpstate` or a larger one).
    unsafe {
        let ti = ptr::addr_of!((*t).thread_info);
        refused |= opaque((*ti).flags & (1 << bindings::TIF_ADDR32) != 0);
        refused |= opaque((*ti).status & bindings::TS_COMPAT != 0);
        // CPUID faulting (ARCH_SET_CPUID) is per thread and only the
        // thread itself can set it: refused rather than moved.
        refused |= opaque((*ti).flags & (1 << bindings::TIF_NOCPUID) != 0);
        let fpu = ptr::addr_of!((*t).thread.fpu);
        refused |= opaque(!ptr::eq((*fpu).fpstate, ptr::addr_of!((*fpu).__fpstate)));
        refused |= opaque((*(*fpu).fpstate).size != bindings::fpu_kernel_cfg.default_size);
        // ARCH_SHSTK_SHSTK
        #[cfg(CONFIG_X86_USER_SHADOW_STACK)]
        {
            refused |= opaque((*t).thread.features & 1 != 0);
        }
    }
    refused
}

/// `cond` as 0 or 1, hidden from the optimizer, which would otherwise
/// turn an `|` of conditions back into a branch per condition.
#[inline(always)]
fn opaque(cond: bool) -> u8 {
    let mut v = cond as u8;
    // SAFETY: an empty instruction that takes and gives back a register.
    unsafe { core::arch::asm!("/* {v} */", v = inout(reg_byte) v, options(pure, nomem, nostack, preserves_flags)) };
    v
}

/// [`context_movable`] for syslet/handoff.c's hook, which checks again
/// before it moves a context.
#[no_mangle]
pub extern "C" fn syslet_handoff_supported() -> bool {
    context_movable()
}

/// Whether the current task is armed or in a threadlet.
/// A threadlet record left over from before an `execve()` (its head
/// belongs to the old program) is freed here.
#[inline]
pub(crate) fn armed() -> bool {
    // SAFETY: reads `current`'s own flags.
    let flags = unsafe { (*current()).flags };
    flags & bindings::PF_SYSLET_HANDOFF != 0 && armed_record_live()
}

/// [`armed`] once the flag is seen set.
#[cold]
fn armed_record_live() -> bool {
    let t = current();
    // SAFETY: with the flag set, `worker_private` is an `Armed` record or
    // a spare's tagged reference (see `syslet_task_sleeping`).
    let a = unsafe { (*t).worker_private } as *const Armed;
    // SAFETY: as above. (execve() frees a threadlet's record when it
    // succeeds, `syslet_exec_end`: the address space cannot differ; the
    // test stays, and never re-enters this function.)
    if a as usize & SPARE_TAG == 0 && unsafe { (*a).is_threadlet() && (*a).mm != (*t).mm } {
        drop(crate::threadlet::take());
        return false;
    }
    true
}

/// The record a task is armed with (see the module documentation).
pub(crate) struct Armed {
    /// Borrowed: see [`Process::borrow_current`].
    pub(crate) process: ArcBorrow<'static, Process>,
    /// The user register frame to hand over; null for the frame of the
    /// current system call (found when needed, off the hot path).
    regs: *const bindings::pt_regs,
    /// First atom of the chain (0 for a threadlet), for tracing.
    first: usize,
    /// The address space the context belongs to: after an execve() in a
    /// threadlet, its head is meaningless.
    mm: *mut bindings::mm_struct,
    /// Whether a handoff may happen at all.
    enabled: bool,
    /// The process's identity generation when the chain started
    /// ([`crate::identity`]).
    identity: u64,
    /// The user context has gone to a spare thread.
    handed: Cell<bool>,
    /// The spare it went to: the hook never drops a reference.
    taken: Cell<Option<Arc<Spare>>>,
    /// What the system call returns to the context once it has moved: 0
    /// (`async_exec()`'s NULL, `threadlet_on()`'s "not done"), or for an
    /// aio write (`aio/`) the count `io_submit()` returns.
    user_ret: isize,
}

impl Armed {
    pub(crate) fn new(
        process: ArcBorrow<'static, Process>,
        regs: *const bindings::pt_regs,
        first: usize,
        enabled: bool,
    ) -> Armed {
        // SAFETY: reads `current`'s own field.
        let mm = unsafe { (*current()).mm };
        let identity = process.identity.now();
        Armed {
            process,
            regs,
            first,
            mm,
            enabled,
            identity,
            handed: Cell::new(false),
            taken: Cell::new(None),
            user_ret: 0,
        }
    }

    /// Whether this is a threadlet's record (boxed), not a chain's or an
    /// aio write's.
    pub(crate) fn is_threadlet(&self) -> bool {
        self.first == 0 && self.user_ret == 0
    }

    /// Whether the user context has gone to a spare thread.
    pub(crate) fn handed(&self) -> bool {
        self.handed.get()
    }

    /// Sets `PF_SYSLET_HANDOFF` with `self` as the current task's record.
    ///
    /// # Safety
    ///
    /// `self` must stay where it is until [`Armed::disarm`] is called.
    pub(crate) unsafe fn arm(&self) {
        let t = current();
        // SAFETY: `current`'s own fields; `worker_private` is unused by
        // user tasks (io-wq, workqueues, kthreads and the engine's async
        // threads own it only for their threads, which are never armed:
        // chains and threadlets arm in user tasks, and aio writes check
        // the task's flags). The caller keeps `self` alive while it is
        // armed.
        unsafe {
            (*t).worker_private = self as *const Armed as *mut c_void;
            (*t).flags |= bindings::PF_SYSLET_HANDOFF;
        }
    }

    /// Clears what [`Armed::arm`] set.
    pub(crate) fn disarm() {
        let t = current();
        // SAFETY: `current`'s own fields.
        unsafe {
            (*t).flags &= !bindings::PF_SYSLET_HANDOFF;
            (*t).worker_private = ptr::null_mut();
        }
    }

    /// Moves the user context to a parked spare thread and wakes it.
    /// Runs in the task that owns `self`, from the scheduler hook or in
    /// process context; never sleeps or allocates.
    fn hand_over(&self, reason: AsyncReason) -> bool {
        let t = current();
        // SAFETY: reads `current`'s own fields.
        if !self.enabled
            || self.handed.get()
            || unsafe { (*t).mm } != self.mm
            || unsafe { (*t).flags } & bindings::PF_EXITING != 0
            // Eligibility is decided now, against the state at this
            // moment (a tracer may have attached, the policy changed
            // since the chain started), not only before the chain ran.
            || !can_hand_off()
        {
            return false;
        }
        let Some(spare) = self.process.reserve_spare() else {
            return false;
        };
        // SAFETY: `spare` is reserved: until it is claimed or put back,
        // nobody else writes its context, and its thread only reads it
        // once claimed. `regs` is valid while `self` is armed; the spare's
        // task is alive (it holds a reference to it).
        let saved = unsafe {
            let regs = if self.regs.is_null() { bindings::current_pt_regs() } else { self.regs };
            bindings::syslet_context_save(
                spare.ctx.0.cast(),
                regs,
                spare.task(),
                self.is_threadlet(),
                self.user_ret as _,
            )
        };
        if !saved {
            self.process.put_back_spare(spare);
            return false;
        }
        self.handed.set(true);
        self.process.stats.handoff();
        trace::went_async(self.first, reason);
        spare.claim();
        self.taken.set(Some(spare));
        true
    }

    /// [`Armed::hand_over`] for `SYSLET_ASYNC`: in process context, so a
    /// spare can be made first.
    fn hand_over_now(&self) -> bool {
        self.handed.get() || (ensure_spare(self.process) && self.hand_over(AsyncReason::AsyncFlag))
    }
}

/// Scheduler hook: the armed task `tsk` (current) is about to sleep.
///
/// Called from `sched_submit_work()` for `PF_SYSLET_HANDOFF` tasks: takes
/// spinlocks, never sleeps or allocates.
#[no_mangle]
pub extern "C" fn syslet_task_sleeping(tsk: *mut bindings::task_struct) {
    // SAFETY: `tsk` is current; with PF_SYSLET_HANDOFF set its
    // `worker_private` is its live `Armed` record (see `Armed::arm`) or a
    // parked spare's tagged reference (`Spare::serve`).
    let a = unsafe { (*tsk).worker_private } as *const Armed;
    if !a.is_null() && a as usize & SPARE_TAG == 0 {
        // SAFETY: as above.
        unsafe { &*a }.hand_over(AsyncReason::Blocked);
    }
}

/// Runs chains in the caller, armed around every atom outside
/// `SYSLET_SYNC` until its user context has moved.
pub(crate) struct Cachemiss(pub(crate) Armed);

impl Runner for Cachemiss {
    fn go_async(&self) -> Result {
        if self.0.hand_over_now() {
            Ok(())
        } else {
            Err(EAGAIN)
        }
    }

    fn sync_atom(&self, _running: bool) {}

    fn arm(&self, sync: bool) {
        if !sync && !self.0.handed() {
            // SAFETY: the chain loop (`run_cachemiss_chain`) disarms
            // before `self` can move.
            unsafe { self.0.arm() };
        }
    }

    fn disarm(&self) {
        Armed::disarm();
        // In process context, so that no path (not even a do_exit() from
        // inside the chain) keeps the spare's reference.
        if self.0.handed() {
            drop(self.0.taken.take());
        }
    }

    /// Once the context has moved, the chain stops at an identity change.
    #[inline(always)]
    fn stale(&self) -> bool {
        self.0.handed() && self.0.process.identity.changed_since(self.0.identity)
    }

    /// In the caller, the chain ends and the signal is delivered; once the
    /// context has moved, this task only stops or dies.
    fn signalled(&self) -> Result {
        if !self.0.handed() || engine::serve_stops() {
            return Err(EINTR);
        }
        Ok(())
    }
}

// The section of the chain loop below starts on a page boundary.
core::arch::global_asm!(
    ".pushsection .text.hot.syslet_chain,\"ax\",@progbits",
    ".balign 4096",
    ".popsection",
);

/// The chain loop of the cachemiss path, the subsystem's hottest code:
/// in `.text.hot` (as `__hot` C functions are, with the two reads of
/// syslet/uaccess.c), at the start of a page. Under an emulating CPU a
/// jump within a page is a chained jump and a jump across pages a
/// lookup, so where the loop fell relative to page boundaries changed a
/// chained atom's cost by up to 40% from one build to the next
/// (Documentation/syslets.md, "What an inline chain costs under TCG").
/// At the start of a page, and under 4 KB in the non-debug kernel (KASAN
/// makes it larger), it never straddles one. The C reads follow it
/// (syslet/Makefile links uaccess.o after the crate).
#[inline(never)]
#[link_section = ".text.hot.syslet_chain"]
fn run_cachemiss_chain(first: usize, first_atom: &mut crate::abi::Atom, runner: &Cachemiss) -> engine::ChainEnd {
    engine::run_chain_inline(first, first_atom, runner)
}

/// `async_exec()` on the cachemiss path: runs the chain at `first` in the
/// caller. Returns its last atom if it never went asynchronous; otherwise
/// posts the completion to `ahu`'s ring and serves as a spare thread,
/// returning 0 to the user context it is given.
pub(crate) fn exec(
    process: ArcBorrow<'static, Process>,
    first: usize,
    first_atom: &mut crate::abi::Atom,
    ahu: usize,
) -> Result<usize> {
    // Best effort: without a spare an atom that blocks blocks the caller.
    ensure_spare(process);
    trace::submit(first, ahu, true);
    let runner = Cachemiss(Armed::new(process, ptr::null(), first, true));
    let end = run_cachemiss_chain(first, first_atom, &runner);
    if !runner.0.handed() {
        process.stats.chain_inline(end.atoms);
        trace::complete(end.last, &end.result, false);
        return end.result.map(|()| end.last);
    }
    process.stats.chain_handed_off(end.atoms);
    let posted = end.last_flags & crate::abi::flags::NO_COMPLETE == 0
        && !engine::fatal_signal_pending()
        && process.post(ahu, end.last, &engine::fatal_signal_pending);
    trace::complete(end.last, &end.result, posted);
    drop(runner);
    become_spare(process.into());
    Ok(0)
}

/// Runs `io` (an fs/aio.c write, `aio/`) in the caller armed for a
/// handoff: if it sleeps, the user context of the caller's `io_submit()`
/// moves to a spare thread and returns `user_ret` (the iocbs submitted,
/// this one included). Returns `io`'s result and, if the context moved,
/// the task that took it; the caller must then leave `io_submit()` and
/// park ([`park_handed_off`]). The caller checked [`can_hand_off`], that
/// the task is not [`armed`], and that it is a user thread in its own
/// `io_submit()` (whose frame is the one that moves).
#[cfg(CONFIG_SYSLET_AIO)]
pub(crate) fn run_armed(
    process: ArcBorrow<'static, Process>,
    user_ret: isize,
    io: impl FnOnce() -> isize,
) -> (isize, Option<ARef<Task>>) {
    // Best effort, as for a chain: without a spare a write that blocks
    // blocks `io_submit()`, as on stock Linux.
    ensure_spare(process);
    let armed = Armed { user_ret, ..Armed::new(process, ptr::null(), 0, true) };
    // SAFETY: `armed` stays in this frame until it is disarmed below.
    unsafe { armed.arm() };
    let ret = io();
    Armed::disarm();
    let took = armed.taken.take().filter(|_| armed.handed()).map(|spare| {
        // SAFETY: the spare holds a reference to its task, which is a
        // `task_struct` (`Task` is a transparent wrapper); `ARef::from`
        // takes one of its own.
        ARef::from(unsafe { &*(spare.task() as *const Task) })
    });
    // The spare's reference is dropped here, in process context, like
    // `Cachemiss::disarm` does.
    (ret, took)
}

/// The current task's user context moved while it ran an fs/aio.c write
/// ([`run_armed`]): it parks as a spare, as after a chain, and returns
/// when it is given another context. It must never return to the one it
/// lost, so if the process state cannot be had it exits.
#[cfg(CONFIG_SYSLET_AIO)]
pub(crate) fn park_handed_off() {
    match Process::borrow_current() {
        Ok(process) => become_spare(process.into()),
        // Not reached: the handoff went through this state.
        Err(_) => exit_thread(),
    }
}

/// Where a spare is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SpareState {
    /// Its thread has not parked yet.
    Starting,
    /// Parked, free to take.
    Idle,
    /// Taken by a hook that is saving a context into it.
    Reserved,
    /// Holds a context to run.
    Claimed,
    /// Its thread is exiting.
    Exit,
}

/// A `syslet_context` buffer (syslet/handoff.c), owned by one spare.
struct ContextBuf(*mut u8, usize);

impl ContextBuf {
    fn new() -> Result<ContextBuf> {
        // SAFETY: a pure query.
        let size = unsafe { bindings::syslet_context_size() };
        let (p, len, _) = KVec::from_elem(0u8, size, GFP_KERNEL_ACCOUNT)?.into_raw_parts();
        Ok(ContextBuf(p, len))
    }
}

impl Drop for ContextBuf {
    fn drop(&mut self) {
        // SAFETY: `self.0`/`self.1` came from `into_raw_parts` in `new`.
        drop(unsafe { KVec::from_raw_parts(self.0, self.1, self.1) });
    }
}

/// One spare thread.
#[pin_data]
pub(crate) struct Spare {
    process: Arc<Process>,
    #[pin]
    state: SpinLock<SpareState>,
    /// The thread waits here; the spawner waits here for it to park.
    #[pin]
    wake: CondVar,
    /// The thread's task; set by the thread before it parks.
    task: TaskRef,
    /// Written by the hook while `Reserved`, read by the thread once
    /// `Claimed`.
    ctx: ContextBuf,
    _live: Live,
}

// SAFETY: the context buffer is accessed under the state protocol above;
// the task pointer holds a reference valid from any thread.
unsafe impl Send for Spare {}
// SAFETY: as above.
unsafe impl Sync for Spare {}

impl Spare {
    fn new(process: Arc<Process>) -> Result<Arc<Spare>> {
        let ctx = ContextBuf::new()?;
        Arc::pin_init(
            pin_init!(Spare {
                process,
                state <- new_spinlock!(SpareState::Starting, "syslet::Spare::state"),
                wake <- new_condvar!("syslet::Spare::wake"),
                task: TaskRef(AtomicPtr::new(ptr::null_mut())),
                ctx,
                _live: Live::new(ptr::addr_of_mut!(bindings::syslet_live_spares)),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    fn task(&self) -> *mut bindings::task_struct {
        self.task.0.load(Ordering::Acquire)
    }

    /// `Idle` -> `Reserved`; false in any other state.
    fn reserve(&self) -> bool {
        let mut st = self.state.lock();
        if *st == SpareState::Idle {
            *st = SpareState::Reserved;
            true
        } else {
            false
        }
    }

    /// `Reserved` -> `Claimed`, and wakes the thread.
    fn claim(&self) {
        *self.state.lock() = SpareState::Claimed;
        self.wake.notify_one();
    }

    /// Sets `to` and wakes everyone waiting on this spare.
    fn set_state(&self, to: SpareState) {
        *self.state.lock() = to;
        self.wake.notify_all();
    }

    /// Parks the current thread as this spare until a context is handed
    /// to it, then applies it and returns. Exits the thread instead when
    /// it idles too long, the process dies, it is retired or it cannot
    /// park.
    ///
    /// While parked, the thread's reference is in its `worker_private`
    /// (tagged with [`SPARE_TAG`], `PF_SYSLET_HANDOFF` set), so that the
    /// `do_exit()` hook takes it back however the thread ends, even from
    /// inside `get_signal()` (a SIGKILL during a group stop).
    fn serve(self: Arc<Self>) {
        let t = current();
        // SAFETY: takes a reference to the current task, dropped with
        // `TaskRef`.
        unsafe { bindings::get_task_struct(t) };
        self.task.0.store(t, Ordering::Release);
        let me = Arc::into_raw(self);
        // SAFETY: `current`'s own fields; the reference is taken back
        // below or by `syslet_rs_task_exit()`.
        unsafe {
            (*t).worker_private = (me as usize | SPARE_TAG) as *mut c_void;
            (*t).flags |= bindings::PF_SYSLET_HANDOFF;
        }
        // SAFETY: `me` is alive as long as the thread (see above).
        let this = unsafe { &*me };
        // SAFETY: as above.
        if this.process.park_spare(unsafe { ArcBorrow::from_raw(me) }.into()).is_err() {
            exit_thread();
        }
        this.set_state(SpareState::Idle);
        loop {
            let mut st = this.state.lock();
            match *st {
                SpareState::Claimed => break,
                // Retired (`Process::retire_spares`), already unparked.
                SpareState::Exit => {
                    drop(st);
                    exit_thread();
                }
                SpareState::Idle | SpareState::Reserved | SpareState::Starting => {}
            }
            let timeout = msecs_to_jiffies(sysctl(ptr::addr_of!(bindings::sysctl_syslet_idle_msecs)));
            let res = this.wake.wait_interruptible_timeout(&mut st, timeout as _);
            let leave = match res {
                CondVarTimeoutResult::Woken { .. } => false,
                CondVarTimeoutResult::Timeout => true,
                CondVarTimeoutResult::Signal { .. } => engine::fatal_signal_pending(),
            };
            if leave {
                if *st == SpareState::Idle {
                    *st = SpareState::Exit;
                    drop(st);
                    exit_thread();
                }
                // Reserved: the hook decides at once; Claimed: run it
                // (a dying process ends on the way to user space).
                drop(st);
                // SAFETY: process context, no lock held.
                unsafe { bindings::cond_resched() };
                continue;
            }
            drop(st);
            if matches!(res, CondVarTimeoutResult::Signal { .. }) {
                // Task work, job control, the freezer: with every other
                // signal blocked, get_signal() only handles those.
                // SAFETY: `ksignal` is plain data; zero is a valid value.
                let mut ksig: bindings::ksignal = unsafe { core::mem::zeroed() };
                // SAFETY: process context, no lock held.
                unsafe { bindings::get_signal(&mut ksig) };
            }
        }
        // SAFETY: `current`'s own fields; the reference is ours again.
        let me = unsafe {
            (*t).flags &= !bindings::PF_SYSLET_HANDOFF;
            (*t).worker_private = ptr::null_mut();
            Arc::from_raw(me)
        };
        // SAFETY: claimed: the hook finished writing the context (the
        // state lock orders it), and only this thread reads it now.
        unsafe { bindings::syslet_context_restore(me.ctx.0.cast()) };
        // This thread now runs a user context; the task that gave it up
        // carries the rest of its chain and takes over this thread's
        // place in the count (`Process::count_spare`) until it exits or
        // parks as a spare in its turn (`become_spare`).
    }

    /// The thread of this spare is exiting (the `do_exit()` hook).
    fn thread_exited(&self) {
        loop {
            let mut st = self.state.lock();
            match *st {
                // The hook saving into it decides at once.
                SpareState::Reserved => {
                    drop(st);
                    // SAFETY: process context, no lock held.
                    unsafe { bindings::cond_resched() };
                    continue;
                }
                // SAFETY: a claimed context this thread will not run.
                SpareState::Claimed => unsafe { bindings::syslet_context_drop(self.ctx.0.cast()) },
                SpareState::Starting | SpareState::Idle | SpareState::Exit => {}
            }
            *st = SpareState::Exit;
            self.wake.notify_all();
            break;
        }
        self.process.unpark_spare(self);
        self.process.spare_done();
    }
}

/// Marks a spare's reference in its thread's `worker_private` (an
/// [`Armed`] record is aligned: its low bit is clear).
const SPARE_TAG: usize = 1;

/// Whether `worker_private` value `wp` of a `PF_SYSLET_HANDOFF` task is a
/// parked spare's reference rather than an [`Armed`] record.
pub(crate) fn is_spare_tag(wp: usize) -> bool {
    wp & SPARE_TAG != 0
}

/// A reference to a spare's task, once its thread has set it.
struct TaskRef(AtomicPtr<bindings::task_struct>);

impl Drop for TaskRef {
    fn drop(&mut self) {
        let t = self.0.load(Ordering::Acquire);
        if !t.is_null() {
            // SAFETY: the reference taken in `Spare::serve`.
            unsafe { bindings::put_task_struct(t) };
        }
    }
}

/// How often a parked leader looks whether user threads are left.
const LEADER_POLL_MSECS: u32 = 50;

/// The group leader's user context has moved. It keeps its TID (see
/// "Thread ids"), so it must not take over another context, which would
/// then run under the leader's TID: it sleeps until the process ends.
/// Job control, the freezer and task work are served meanwhile. When no
/// thread is left but the engine's own (the last user thread ended with
/// `SYS_exit`), it ends the process, as the exit of a stock process's
/// last thread would: with status 0, the leader's own `pthread_exit()`.
fn park_leader() -> ! {
    // SAFETY: process context.
    unsafe { bindings::syslet_block_signals() };
    loop {
        // SAFETY: process context, no lock held.
        unsafe { bindings::schedule_timeout_interruptible(msecs_to_jiffies(LEADER_POLL_MSECS) as _) };
        if engine::fatal_signal_pending() {
            exit_thread();
        }
        if let Ok(process) = Process::borrow_current() {
            if process.only_engine_threads_left() {
                // SAFETY: process context, no lock or reference held; ends
                // every thread of the group.
                unsafe { bindings::do_group_exit(0) };
            }
        }
        // SAFETY: `ksignal` is plain data; zero is a valid value.
        let mut ksig: bindings::ksignal = unsafe { core::mem::zeroed() };
        // SAFETY: every signal but SIGKILL and SIGSTOP is blocked (the
        // hook did it): get_signal() handles stops, freezing, task work.
        unsafe { bindings::get_signal(&mut ksig) };
    }
}

/// Ends the current thread. References held by the caller's frame are
/// not dropped: callers drop theirs first.
fn exit_thread() -> ! {
    // SAFETY: a user thread may end in do_exit(); the caller holds no lock.
    unsafe { bindings::do_exit(0) }
}

/// Body of a new spare thread.
///
/// # Safety
///
/// Only `syslet_spawn_spare()` calls it, with the reference made by
/// `Process::ensure_spare`.
unsafe extern "C" fn spare_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the thread's reference.
    let spare = unsafe { Arc::from_raw(arg as *const Spare) };
    // SAFETY: process context.
    unsafe { bindings::syslet_block_signals() };
    spare.serve();
    // Returns to user space through ret_from_fork with the frame given.
    0
}

/// The current task's user context has moved: it parks as a spare until
/// it is given another, and returns then. Takes the caller's reference
/// to the process: a thread that exits here never returns to drop it (so
/// callers must hold no other reference either).
pub(crate) fn become_spare(process: Arc<Process>) {
    // Deferred work of the chain (the final fput() of a file an atom
    // closed) runs now, not whenever this thread next wakes.
    // SAFETY: process context, no lock held.
    unsafe { bindings::task_work_run() };
    // A threadlet may have unblocked signals, an atom's ppoll() mask may
    // come back: a parked thread takes none.
    // SAFETY: process context.
    unsafe { bindings::syslet_block_signals() };
    // This task carried a chain of a context that moved: it holds that
    // spare's place in the count (see `Spare::serve`). The leader gives
    // it up: it is not a thread the engine made.
    // SAFETY: reads `current`'s own field.
    if unsafe { (*current()).exit_signal } >= 0 {
        process.spare_done();
        drop(process);
        park_leader();
    }
    match Spare::new(process.clone()) {
        Ok(spare) => {
            drop(process);
            spare.serve()
        }
        Err(_) => {
            process.spare_done();
            drop(process);
            exit_thread()
        }
    }
}

/// What parked spares must share with a caller to take its context, as
/// one word: its credentials, files, fs and namespaces (their pointers,
/// mixed) and, in bit 0, its `no_new_privs`. Spares are made by the
/// caller, so they share all of them; when the caller's key changes (it
/// changed credentials or unshared a table since), they are retired and
/// remade ([`Process::ensure_spare`]). A key is only a hint: two callers
/// whose keys collide get each other's spares, and syslet/handoff.c,
/// which compares every pointer before it moves a context, refuses them.
#[inline(always)]
fn spare_key() -> *mut c_void {
    let t = current();
    // SAFETY: reads `current`'s own fields (only it changes its cred,
    // files, fs and nsproxy pointers); `atomic_flags` is only changed
    // with atomic bit operations, a racy read sees either value.
    let (cred, files, fs, ns, flags) = unsafe {
        (
            (*t).cred as usize,
            (*t).files as usize,
            (*t).fs as usize,
            (*t).nsproxy as usize,
            ptr::read_volatile(ptr::addr_of!((*t).atomic_flags)),
        )
    };
    let nnp = (flags >> bindings::PFA_NO_NEW_PRIVS) & 1;
    let mixed = cred ^ files.rotate_left(16) ^ fs.rotate_left(32) ^ ns.rotate_left(48);
    ((mixed & !1) | nnp as usize) as *mut c_void
}

/// [`Process::ensure_spare`] for a borrowed process; the fast path (a
/// spare is parked) takes no reference.
#[inline(always)]
pub(crate) fn ensure_spare(process: ArcBorrow<'static, Process>) -> bool {
    if process.spare_key.load(Ordering::Acquire) == spare_key() && process.idle_spares() > 0 {
        return true;
    }
    ensure_spare_slow(process)
}

/// [`ensure_spare`] when no spare with the caller's key is parked.
#[cold]
fn ensure_spare_slow(process: ArcBorrow<'static, Process>) -> bool {
    Arc::<Process>::from(process).ensure_spare()
}

impl Process {
    /// Makes sure a spare is parked: spawns one and waits for it to park
    /// if none is. False when none can be had (the cap, no memory).
    pub(crate) fn ensure_spare(self: &Arc<Self>) -> bool {
        let key = spare_key();
        if self.spare_key.load(Ordering::Acquire) != key {
            self.retire_spares(key);
        }
        if self.idle_spares() > 0 {
            return true;
        }
        if !self.count_spare(false) {
            return false;
        }
        let spare = match Spare::new(self.clone()) {
            Ok(s) => s,
            Err(_) => {
                self.spare_done();
                return false;
            }
        };
        let raw = Arc::into_raw(spare.clone()) as *mut c_void;
        // SAFETY: starts a thread running `spare_main(raw)`, which owns
        // the reference `raw`.
        if unsafe { bindings::syslet_spawn_spare(Some(spare_main), raw) } < 0 {
            // SAFETY: the thread was not created; take the reference back.
            drop(unsafe { Arc::from_raw(raw as *const Spare) });
            self.spare_done();
            return false;
        }
        let mut st = spare.state.lock();
        while *st == SpareState::Starting {
            spare.wake.wait(&mut st);
        }
        *st != SpareState::Exit
    }

    /// The caller's credentials or `no_new_privs` are not those the
    /// parked spares were made with (it changed them since): the spares
    /// could not run its context (the hook would refuse them), so they
    /// exit, and new ones are made from the caller.
    fn retire_spares(&self, key: *mut c_void) {
        let mut inner = self.inner.lock();
        self.spare_key.store(key, Ordering::Release);
        for place in inner.spares.iter_mut() {
            if place.as_ref().is_some_and(|s| s.reserve()) {
                self.idle_spares.fetch_sub(1, Ordering::AcqRel);
                if let Some(s) = place.take() {
                    // Order: `inner`, then the spare's state. Its thread
                    // holds its own reference: this one is not the last.
                    s.set_state(SpareState::Exit);
                }
            }
        }
    }

    /// Counts one more spare thread; false at `syslet_max_threads`, which
    /// bounds every thread the engine makes for a process: async threads,
    /// spares, and the tasks carrying chains whose context moved to a
    /// spare (each takes over the count of the spare it gave its context
    /// to). (`always` counts it anyway: the leader must not exit.)
    fn count_spare(&self, always: bool) -> bool {
        let max = sysctl(ptr::addr_of!(bindings::sysctl_syslet_max_threads)) as usize;
        let mut inner = self.inner.lock();
        if inner.spares_alive + inner.alive >= max && !always {
            return false;
        }
        inner.spares_alive += 1;
        true
    }

    /// Whether every live thread of the process but the current one (its
    /// parked leader) is a thread of the engine.
    fn only_engine_threads_left(&self) -> bool {
        // SAFETY: `current`'s signal_struct; `live` is an atomic_t read
        // racily (a thread starting or ending changes it; the leader looks
        // again).
        let live = unsafe { ptr::read_volatile(ptr::addr_of!((*(*current()).signal).live.counter)) };
        let inner = self.inner.lock();
        live >= 1 && (live - 1) as usize == inner.spares_alive + inner.alive
    }

    /// A spare thread (or a task carrying a chain) stopped being one.
    /// Saturating: a claimed spare killed before it took its context and
    /// the task that gave it both give the place up (the process is dying).
    fn spare_done(&self) {
        let mut inner = self.inner.lock();
        inner.spares_alive = inner.spares_alive.saturating_sub(1);
    }

    fn idle_spares(&self) -> usize {
        self.idle_spares.load(Ordering::Acquire)
    }

    /// Adds `s` to the parked spares. Fails only for lack of memory.
    fn park_spare(&self, s: Arc<Spare>) -> Result {
        let mut inner = self.inner.lock();
        if let Some(place) = inner.spares.iter_mut().find(|p| p.is_none()) {
            *place = Some(s);
        } else {
            // Under a spinlock: no sleeping allocation.
            inner.spares.push(Some(s), GFP_ATOMIC).map_err(|_| ENOMEM)?;
        }
        self.idle_spares.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Takes `s` out of the parked spares, if it is there.
    fn unpark_spare(&self, s: &Spare) {
        let taken = {
            let mut inner = self.inner.lock();
            let t = inner
                .spares
                .iter_mut()
                .find(|p| p.as_ref().is_some_and(|x| ptr::eq(&**x, s)))
                .and_then(|p| p.take());
            if t.is_some() {
                self.idle_spares.fetch_sub(1, Ordering::AcqRel);
            }
            t
        };
        // Dropped unlocked; the thread still holds its own reference.
        drop(taken);
    }

    /// Reserves a parked spare and takes it out of the list. For the
    /// hook: no sleeping, no allocation, never drops a reference.
    fn reserve_spare(&self) -> Option<Arc<Spare>> {
        let mut inner = self.inner.lock();
        for place in inner.spares.iter_mut() {
            if place.as_ref().is_some_and(|s| s.reserve()) {
                self.idle_spares.fetch_sub(1, Ordering::AcqRel);
                return place.take();
            }
        }
        None
    }

    /// Gives back a spare [`Process::reserve_spare`] took (its place is
    /// still free: no allocation), then makes it `Idle` again.
    fn put_back_spare(&self, s: Arc<Spare>) {
        {
            let mut inner = self.inner.lock();
            if let Some(place) = inner.spares.iter_mut().find(|p| p.is_none()) {
                *place = Some(s.clone());
                self.idle_spares.fetch_add(1, Ordering::AcqRel);
            }
        }
        let mut st = s.state.lock();
        *st = SpareState::Idle;
        drop(st);
        // `s` is not the last reference: the thread holds its own.
        drop(s);
    }
}

/// `do_exit()` hook for a task that exits with `PF_SYSLET_HANDOFF`: a
/// parked spare (its reference and its place in the process's list) or
/// a threadlet that never ended (its record).
#[no_mangle]
pub extern "C" fn syslet_rs_task_exit(tsk: *mut bindings::task_struct) {
    if tsk != current() {
        return;
    }
    // SAFETY: the exiting task's own field.
    let wp = unsafe { (*tsk).worker_private } as usize;
    if wp & SPARE_TAG != 0 {
        // SAFETY: as above; the tagged reference of `Spare::serve`.
        let spare = unsafe {
            (*tsk).flags &= !bindings::PF_SYSLET_HANDOFF;
            (*tsk).worker_private = ptr::null_mut();
            Arc::from_raw((wp & !SPARE_TAG) as *const Spare)
        };
        spare.thread_exited();
        return;
    }
    crate::threadlet::task_exit(tsk);
}
