// SPDX-License-Identifier: GPL-2.0

//! Whether a user context may move to a spare thread, and to which one:
//! every rule of the handoff's eligibility, here and nowhere else.
//! syslet/handoff.c carries out the move (`syslet_context_save()`) and
//! refuses only on a pending signal, which it must look at under
//! `siglock` as part of the move.
//!
//! * [`can_hand_off`]: may the current task's context move at all? Asked
//!   before a chain runs (the engine's async threads run it otherwise)
//!   and again in the hook, against the state at that moment (a tracer
//!   may have attached meanwhile).
//! * [`spare_takes`]: may this reserved spare take it? It must run the
//!   context as the caller would: the same credentials, files, fs,
//!   namespaces, seccomp state and `no_new_privs`, no tracer on either
//!   side, and none of the protections a thread sets on itself that a
//!   spare would not have. Refused there, the atom blocks in the caller
//!   as a direct call would.
//!
//! The conditions are read from `task_struct` fields that only their task
//! changes, or that change only while it is stopped: a racy read makes a
//! handoff refused, or one that the next check refuses, never one that
//! moves a context a spare cannot run (the hook runs in the task itself,
//! and the spare is parked).

use crate::{
    prim::{current, sysctl},
    tuning::opaque,
};
use core::ptr;
use kernel::bindings;

/// Whether the current task's user context may move to a spare thread.
/// The cases that may not are listed in the module documentation; they
/// use the engine's async threads instead.
///
/// Every condition is evaluated and combined with `|`, not `||`, each
/// through [`opaque`]: one branch instead of one per condition (every
/// `async_exec()` asks; [`crate::tuning`]).
#[inline]
pub(crate) fn can_hand_off() -> bool {
    /// `policy` values of `SCHED_FIFO`, `SCHED_RR`, `SCHED_DEADLINE`.
    const RT_POLICIES: u32 =
        1 << bindings::SCHED_FIFO | 1 << bindings::SCHED_RR | 1 << bindings::SCHED_DEADLINE;
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

/// Whether syslet/handoff.c cannot carry the current task's user context
/// (nonzero if one condition refuses, combined as in [`can_hand_off`]): it
/// carries a 64-bit task with null FS/GS selectors, the default FPU buffer
/// (no AMX-style dynamic features) and no user shadow stack.
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
        refused |= opaque(!default_fpstate(t));
        // ARCH_SHSTK_SHSTK
        #[cfg(CONFIG_X86_USER_SHADOW_STACK)]
        {
            refused |= opaque((*t).thread.features & 1 != 0);
        }
    }
    refused
}

/// Whether the reserved spare `to` may take the user context of `t` (the
/// current task, which [`can_hand_off`] allowed). For the hook: reads
/// only, no lock.
///
/// # Safety
///
/// `t` must be the current task and `to` a live task parked as a spare
/// of its process (reserved: its fields do not change meanwhile).
pub(crate) unsafe fn spare_takes(t: *mut bindings::task_struct, to: *mut bindings::task_struct) -> bool {
    // SAFETY: see # Safety: `t` is current, `to` is parked; both are live.
    unsafe {
        // The spare must see the files, root, cwd and namespaces the
        // context sees (a thread may have unshared them since the spare
        // was made), with the same credentials.
        let same = ptr::eq((*to).cred, (*t).cred)
            && ptr::eq((*to).real_cred, (*t).real_cred)
            && (*to).files == (*t).files
            && (*to).fs == (*t).fs
            && (*to).nsproxy == (*t).nsproxy;
        // A tracer's tracees stay with the tracer task; a traced spare
        // would take the context out of its tracer's sight.
        let tracer = !ptr::eq((*t).ptraced.next, ptr::addr_of!((*t).ptraced)) || (*to).ptrace != 0;
        same && !tracer
            && default_fpstate(to)
            && !uretprobe_pending(t)
            && !own_protections(t)
            // A context must not lose (or gain) no_new_privs on the way.
            && pfa(to, bindings::PFA_NO_NEW_PRIVS) == pfa(t, bindings::PFA_NO_NEW_PRIVS)
            && same_seccomp(t, to)
    }
}

/// Whether `t`'s FPU state is in its default buffer (what the context
/// buffer has room for). Both conditions are read and combined with `&`,
/// not `&&`: no branch between them ([`can_hand_off`] asks it too).
///
/// # Safety
///
/// `t` must be live, current or parked.
#[inline(always)]
unsafe fn default_fpstate(t: *mut bindings::task_struct) -> bool {
    // SAFETY: see # Safety; `fpstate` always points to a live buffer (the
    // embedded `__fpstate` or a larger one).
    unsafe {
        let fpu = ptr::addr_of!((*t).thread.fpu);
        ptr::eq((*fpu).fpstate, ptr::addr_of!((*fpu).__fpstate))
            & ((*(*fpu).fpstate).size == bindings::fpu_kernel_cfg.default_size)
    }
}

/// Whether a uretprobe's trampoline would return through `t`'s records.
///
/// # Safety
///
/// `t` must be the current task.
unsafe fn uretprobe_pending(t: *mut bindings::task_struct) -> bool {
    #[cfg(CONFIG_UPROBES)]
    {
        // SAFETY: current's own `utask`, which only it allocates and
        // frees (at exit).
        unsafe {
            let u = (*t).utask;
            !u.is_null() && !(*u).return_instances.is_null()
        }
    }
    #[cfg(not(CONFIG_UPROBES))]
    {
        let _ = t;
        false
    }
}

/// Bit `bit` of `t`'s `atomic_flags` (the `task_*()` accessors of
/// `<linux/sched.h>`: `no_new_privs`, speculation control).
///
/// # Safety
///
/// `t` must be live.
unsafe fn pfa(t: *mut bindings::task_struct, bit: u32) -> bool {
    // SAFETY: see # Safety; the word is changed with atomic bit
    // operations only, a racy read sees either value.
    let word = unsafe { ptr::read_volatile(ptr::addr_of!((*t).atomic_flags)) };
    word & (1 << bit) != 0
}

/// Protections a thread sets on itself that a spare would not have, which
/// the context cannot take along: speculation control (prctl
/// `PR_SET_SPECULATION_CTRL`), syscall user dispatch, I/O port
/// permissions, `PR_SET_IO_FLUSHER`, `PR_MCE_KILL`, a core-scheduling
/// cookie. While one is set the context stays where it is.
///
/// # Safety
///
/// `t` must be the current task.
unsafe fn own_protections(t: *mut bindings::task_struct) -> bool {
    const TIF: usize = 1 << bindings::TIF_SSBD
        | 1 << bindings::TIF_SPEC_IB
        | 1 << bindings::TIF_SPEC_L1D_FLUSH
        | 1 << bindings::TIF_IO_BITMAP;
    const DISPATCH: usize = 1 << bindings::syscall_work_bit_SYSCALL_WORK_BIT_SYSCALL_USER_DISPATCH;
    // SAFETY: current's own fields (see # Safety).
    unsafe {
        let ti = ptr::addr_of!((*t).thread_info);
        let own = (*ti).flags & TIF != 0
            || (*ti).syscall_work & DISPATCH != 0
            || pfa(t, bindings::PFA_SPEC_SSB_DISABLE)
            || pfa(t, bindings::PFA_SPEC_IB_DISABLE)
            // A memory-error kill policy of its own: PF_MCE_EARLY means
            // nothing without PF_MCE_PROCESS (PR_MCE_KILL_CLEAR leaves it
            // behind).
            || (*t).flags & (bindings::PF_LOCAL_THROTTLE | bindings::PF_MCE_PROCESS) != 0
            || (*t).thread.iopl_emul != 0;
        #[cfg(CONFIG_SCHED_CORE)]
        let own = own || (*t).core_cookie != 0;
        own
    }
}

/// Whether `to` is under the same seccomp mode and filter as `t`.
///
/// # Safety
///
/// `t` must be the current task, `to` a parked one.
unsafe fn same_seccomp(t: *mut bindings::task_struct, to: *mut bindings::task_struct) -> bool {
    let same = true;
    // SAFETY: see # Safety. TSYNC may set another thread's filter: a
    // stale read refuses, or `syslet_identity_changed()` retires the
    // spares.
    #[cfg(CONFIG_SECCOMP)]
    let same = same && unsafe { (*to).seccomp.mode == (*t).seccomp.mode };
    // SAFETY: both tasks live (# Safety); the filter pointers are only
    // compared, never followed.
    #[cfg(CONFIG_SECCOMP_FILTER)]
    let same = same && unsafe { ptr::eq((*to).seccomp.filter, (*t).seccomp.filter) };
    let _ = (t, to);
    same
}
