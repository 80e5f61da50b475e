// SPDX-License-Identifier: GPL-2.0

//! Threadlets: a function run on its own stack, inline in the caller; if
//! it blocks in the kernel, the caller goes on at once and the function
//! finishes in a thread of its own (`threadlet_on()`/`threadlet_off()`,
//! Documentation/syslets.md). The same sequence as the C helper,
//! `tools/threadlet/threadlet.h`, which explains it at length.
//!
//! `threadlet_on()` returns twice, like `vfork()`: with 1 in the calling
//! thread, which then runs the function on the new stack, and, if the
//! function blocks, with 0 in a spare thread that takes over the register
//! state of the call's entry, on the caller's stack. So after the first
//! return nothing may be written to the caller's stack before the switch:
//! no compiled code can promise that, hence the assembly.

use core::ffi::c_void;

use crate::nr;
use crate::raw::{self, Errno};

/// `THREADLET_WENT_ASYNC` and `THREADLET_INLINE` of the uapi header.
const WENT_ASYNC: usize = 0;
const INLINE: usize = 1;

/// The smallest stack [`threadlet_exec`] accepts, in bytes. A signal
/// that arrives while `f` runs inline is delivered on the threadlet
/// stack: its frame holds the XSAVE area, which reaches about 11 KiB with
/// AMX, and the handler's own frames come below it. 16 KiB leaves room
/// for that and for a small `f`; it is a floor, not a recommendation.
pub const MIN_STACK: usize = 16 << 10;

/// How a threadlet's function ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threadlet {
    /// It ran to its end without blocking, in the calling thread.
    Inline,
    /// It blocked: the caller goes on while the function runs on (or has
    /// just finished) in another thread. The function reports its own
    /// completion.
    WentAsync,
}

// syslet_rs_threadlet_exec(f, arg, stack_top) -> isize: threadlet_on()'s
// 0 or -errno, or threadlet_off()'s value once `f` returned inline.
//
// rbx = f, r12 = arg, r13 = stack top: callee-saved, so `f` keeps them and
// the second return (with the registers of the system call's entry) finds
// them too; the caller's values are pushed before the system call and
// popped by whichever thread returns. The threadlet stack holds, from its
// top, the caller's rsp, 8 bytes of padding (16-byte alignment at the
// call), then f's frames. After the switch the return address is marked
// undefined for unwinders: the caller's frames may belong to another
// thread by then.
core::arch::global_asm!(
    ".pushsection .text.syslet_rs_threadlet_exec,\"ax\",@progbits",
    ".globl syslet_rs_threadlet_exec",
    ".hidden syslet_rs_threadlet_exec",
    ".type syslet_rs_threadlet_exec,@function",
    ".p2align 4",
    "syslet_rs_threadlet_exec:",
    ".cfi_startproc",
    "push rbx",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_rel_offset rbx, 0",
    "push r12",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_rel_offset r12, 0",
    "push r13",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_rel_offset r13, 0",
    "mov rbx, rdi",
    "mov r12, rsi",
    "mov r13, rdx",
    "mov eax, {on}",
    "xor edi, edi",
    "syscall",
    // 0: this is the spare thread, the function went asynchronous; <0: error.
    "test rax, rax",
    "jle .Lsyslet_rs_threadlet_return",
    // Inline, in the calling thread: no write to the old stack from here
    // on. rcx is free (the syscall instruction clobbered it).
    ".cfi_remember_state",
    "mov rcx, rsp",
    "mov rsp, r13",
    ".cfi_undefined rip",
    "push rcx",
    "sub rsp, 8",
    "mov rdi, r12",
    "call rbx",
    // threadlet_off(): 1 if the function never blocked; if it did, this
    // thread's context went to the caller and the call never returns.
    "mov eax, {off}",
    "syscall",
    "mov rsp, qword ptr [rsp + 8]",
    ".cfi_restore_state",
    ".Lsyslet_rs_threadlet_return:",
    "pop r13",
    ".cfi_adjust_cfa_offset -8",
    ".cfi_restore r13",
    "pop r12",
    ".cfi_adjust_cfa_offset -8",
    ".cfi_restore r12",
    "pop rbx",
    ".cfi_adjust_cfa_offset -8",
    ".cfi_restore rbx",
    "ret",
    ".cfi_endproc",
    ".size syslet_rs_threadlet_exec, .-syslet_rs_threadlet_exec",
    ".popsection",
    on = const nr::THREADLET_ON,
    off = const nr::THREADLET_OFF,
);

// syslet_rs_threadlet_run(f, arg, stack_top, done) -> isize: as
// syslet_rs_threadlet_exec, and once `f` returned, on either path, stores
// 1 into the u32 at `done` and wakes its futex waiters before
// threadlet_off(). From that store on the code touches neither the
// threadlet stack nor `done`'s memory (the wake only hashes the address),
// so whoever sees the 1 may reuse the stack and free `done`: the thread
// that ran `f` leaves through threadlet_off() with registers only. r14
// carries `done` (callee-saved, like the others).
core::arch::global_asm!(
    ".pushsection .text.syslet_rs_threadlet_run,\"ax\",@progbits",
    ".globl syslet_rs_threadlet_run",
    ".hidden syslet_rs_threadlet_run",
    ".type syslet_rs_threadlet_run,@function",
    ".p2align 4",
    "syslet_rs_threadlet_run:",
    ".cfi_startproc",
    "push rbx",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_rel_offset rbx, 0",
    "push r12",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_rel_offset r12, 0",
    "push r13",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_rel_offset r13, 0",
    "push r14",
    ".cfi_adjust_cfa_offset 8",
    ".cfi_rel_offset r14, 0",
    "mov rbx, rdi",
    "mov r12, rsi",
    "mov r13, rdx",
    "mov r14, rcx",
    "mov eax, {on}",
    "xor edi, edi",
    "syscall",
    "test rax, rax",
    "jle .Lsyslet_rs_threadlet_run_return",
    ".cfi_remember_state",
    "mov rcx, rsp",
    "mov rsp, r13",
    ".cfi_undefined rip",
    "push rcx",
    "sub rsp, 8",
    "mov rdi, r12",
    "call rbx",
    // Finished: publish, then wake (FUTEX_WAKE | FUTEX_PRIVATE_FLAG).
    "mov dword ptr [r14], 1",
    "mov eax, {futex}",
    "mov rdi, r14",
    "mov esi, 129",
    "mov edx, 0x7fffffff",
    "syscall",
    "mov eax, {off}",
    "syscall",
    "mov rsp, qword ptr [rsp + 8]",
    ".cfi_restore_state",
    ".Lsyslet_rs_threadlet_run_return:",
    "pop r14",
    ".cfi_adjust_cfa_offset -8",
    ".cfi_restore r14",
    "pop r13",
    ".cfi_adjust_cfa_offset -8",
    ".cfi_restore r13",
    "pop r12",
    ".cfi_adjust_cfa_offset -8",
    ".cfi_restore r12",
    "pop rbx",
    ".cfi_adjust_cfa_offset -8",
    ".cfi_restore rbx",
    "ret",
    ".cfi_endproc",
    ".size syslet_rs_threadlet_run, .-syslet_rs_threadlet_run",
    ".popsection",
    on = const nr::THREADLET_ON,
    off = const nr::THREADLET_OFF,
    futex = const 202,
);

extern "C" {
    fn syslet_rs_threadlet_run(
        f: unsafe extern "C" fn(*mut c_void),
        arg: *mut c_void,
        top: *mut u8,
        done: *const core::sync::atomic::AtomicU32,
    ) -> isize;
}

/// [`threadlet_exec`] that also stores 1 into `done` and wakes its futex
/// once `f` has returned, after which the threadlet no longer touches
/// its stack or `done`. `top` is the 16-byte aligned top of a stack of at
/// least [`MIN_STACK`] bytes.
///
/// # Safety
///
/// As [`threadlet_exec`], except that the stack may be reused once `done`
/// reads 1.
pub(crate) unsafe fn threadlet_run(
    f: unsafe extern "C" fn(*mut c_void),
    arg: *mut c_void,
    top: *mut u8,
    done: *const core::sync::atomic::AtomicU32,
) -> Result<Threadlet, Errno> {
    debug_assert!(top as usize % 16 == 0);
    // SAFETY: the caller vouches for all four.
    classify(unsafe { syslet_rs_threadlet_run(f, arg, top, done) })
}

/// threadlet_on()'s or threadlet_off()'s answer as a [`Threadlet`]. Any
/// other value aborts the process: an unwind from here could free or
/// reuse a stack that a threadlet may still be running on.
fn classify(ret: isize) -> Result<Threadlet, Errno> {
    match raw::decode(ret)? {
        INLINE => Ok(Threadlet::Inline),
        WENT_ASYNC => Ok(Threadlet::WentAsync),
        _ => unexpected_return(),
    }
}

#[cold]
fn unexpected_return() -> ! {
    const MSG: &[u8] = b"syslet: threadlet_on()/threadlet_off() returned an unknown value; aborting\n";
    // SAFETY: write(2, MSG): reads the static message only. Its result
    // does not matter: the process aborts either way.
    unsafe { raw::syscall3(1, 2, MSG.as_ptr() as usize, MSG.len()) };
    std::process::abort()
}

extern "C" {
    fn syslet_rs_threadlet_exec(
        f: extern "C" fn(*mut c_void),
        arg: *mut c_void,
        top: *mut u8,
    ) -> isize;
}

/// Runs `f(arg)` on the stack `[stack, stack + len)` as a threadlet.
///
/// Returns [`Threadlet::Inline`] when `f` ran to its end without blocking,
/// [`Threadlet::WentAsync`] as soon as it blocked (it goes on in another
/// thread), or an error, and then nothing ran: `EINVAL` (null stack, or
/// under [`MIN_STACK`] bytes), `EBUSY` (this thread is already in
/// threadlet mode, e.g. `f` called `threadlet_exec`), `ENOSYS` (a kernel
/// without threadlets). (`threadlet_off()`'s error after `f` returned
/// inline would also come back here, with `f` run; it fails only if `f`
/// ended threadlet mode itself, which the contract below forbids.)
///
/// # Safety
///
/// - The stack must stay valid, and unused by anything else, until `f`'s
///   thread has left it: not only until `f` reports completion, since its
///   thread returns from `f` and enters `threadlet_off()` on that stack
///   afterwards. Leak it, or free it only after a handshake outside `f`.
/// - `arg` and everything `f` reaches must stay valid until `f` is done;
///   once `f` went asynchronous it runs concurrently with the caller, so
///   shared data needs atomics or locks.
/// - Once `f` may have blocked, it runs in a thread with another TID but
///   with the caller's TLS, which the caller uses at the same time: `f`
///   must not touch thread-local state from then on. No `thread_local!`,
///   no `std::thread::current()`, no allocation (the allocator caches per
///   thread), no `std::io` or libc calls (errno), no panics (the panic
///   count is thread-local; a panic in an `extern "C"` function aborts
///   anyway): issue system calls with the `syscall` instruction.
/// - Once asynchronous, `f`'s thread runs with all signals blocked but
///   those a fault raises (SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE,
///   SIGSYS), whose handlers then run on the threadlet stack. Until then `f` runs in the calling thread with the caller's signal
///   mask, and a signal handler runs on the threadlet stack below `f`'s
///   frames: the stack must have room for a signal frame (up to about
///   11 KiB with AMX's XSAVE state) plus the deepest handler's frames on
///   top of what `f` needs, unless the caller blocks signals around the
///   call ([`crate::ThreadletPool::spawn`] does).
/// - Signals at the first return: a signal delivered right at
///   `threadlet_on()`'s return in the calling thread, before the switch
///   to the threadlet stack, runs its handler on the caller's stack with
///   threadlet mode on; if that handler blocks, the spare thread returns
///   onto the caller's stack under the handler's frames. Block signals
///   around the call if any handler can block.
/// - Not from a signal handler running on an alternate signal stack
///   unless signals are blocked: once `f` runs on the threadlet stack the
///   kernel no longer sees the thread on the alternate stack, so a nested
///   `SA_ONSTACK` signal would start at its top, over the frames of the
///   handler that called this.
/// - `f` must not call `threadlet_on()` or `threadlet_off()` itself
///   (this function refuses a nested call with `EBUSY`, but a raw
///   `threadlet_off()` would end the mode under the running code).
/// - `f` must return normally: its return into `threadlet_off()` is what
///   releases its thread.
/// - The process must not run with a CET shadow stack: the second return
///   would not match the shadow stack of the thread that makes it.
pub unsafe fn threadlet_exec(
    f: extern "C" fn(*mut c_void),
    arg: *mut c_void,
    stack: *mut u8,
    len: usize,
) -> Result<Threadlet, Errno> {
    if stack.is_null() || len < MIN_STACK || (stack as usize).checked_add(len).is_none() {
        return Err(Errno::EINVAL);
    }
    let end = stack.wrapping_add(len);
    let top = end.wrapping_sub(end as usize & 15);
    // SAFETY: the stack spans at least MIN_STACK bytes below `top`; the
    // caller vouches for `f`, `arg` and the stack's lifetime.
    classify(unsafe { syslet_rs_threadlet_exec(f, arg, top) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicBool, Ordering};

    const HEADER: &str = include_str!("../../../include/uapi/linux/syslet.h");

    fn header_value(name: &str) -> Option<usize> {
        let key = format!("#define {name}");
        HEADER.lines().find_map(|l| l.strip_prefix(&key)).and_then(|rest| rest.trim().parse().ok())
    }

    #[test]
    fn return_values_match_the_uapi_header() {
        assert_eq!(header_value("THREADLET_WENT_ASYNC"), Some(WENT_ASYNC));
        assert_eq!(header_value("THREADLET_INLINE"), Some(INLINE));
    }

    extern "C" fn never(_: *mut c_void) {
        unreachable!("refused threadlets do not run");
    }

    #[test]
    fn bad_stacks_are_refused_without_a_system_call() {
        let null = core::ptr::null_mut();
        let mut stack = [0u8; 64];
        // SAFETY: refused before the system call; `never` does not run.
        unsafe {
            assert_eq!(threadlet_exec(never, null, null.cast(), 4096), Err(Errno::EINVAL));
            assert_eq!(threadlet_exec(never, null, stack.as_mut_ptr(), 64), Err(Errno::EINVAL));
            // One byte short of room for a signal frame and a handler.
            let mut big = vec![0u8; MIN_STACK];
            assert_eq!(threadlet_exec(never, null, big.as_mut_ptr(), MIN_STACK - 1), Err(Errno::EINVAL));
        }
    }

    #[test]
    fn kernel_answers_are_classified() {
        assert_eq!(classify(1), Ok(Threadlet::Inline));
        assert_eq!(classify(0), Ok(Threadlet::WentAsync));
        assert_eq!(classify(-38), Err(Errno::ENOSYS));
        assert_eq!(classify(-16), Err(Errno::EBUSY));
    }

    /// Any other answer aborts the process rather than unwinding: checked
    /// in a child process, this test binary run again for this test only.
    #[test]
    fn an_unknown_answer_aborts() {
        const CHILD: &str = "SYSLET_RS_CLASSIFY_CHILD";
        if std::env::var_os(CHILD).is_some() {
            let _ = classify(2);
            return; // not reached: the parent sees an exit instead of SIGABRT
        }
        use std::os::unix::process::ExitStatusExt;
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "threadlet::tests::an_unknown_answer_aborts", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(6), "SIGABRT; got {:?}", out.status);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("returned an unknown value; aborting"), "{err}");
        assert!(!err.contains("panicked"), "no unwinding: {err}");
    }

    static RAN: AtomicBool = AtomicBool::new(false);

    extern "C" fn mark(_: *mut c_void) {
        RAN.store(true, Ordering::Relaxed);
    }

    #[test]
    fn runs_inline_or_reports_enosys() {
        // The host kernel has no threadlets: threadlet_on() gives ENOSYS and
        // `mark` never runs (this checks the assembly's error path); on the
        // patched kernel `mark`, which cannot block, runs inline.
        let stack = vec![0x5au8; 16 << 10].leak();
        // SAFETY: `mark` touches only a static; the stack is leaked.
        let r =
            unsafe { threadlet_exec(mark, core::ptr::null_mut(), stack.as_mut_ptr(), stack.len()) };
        match r {
            Err(Errno::ENOSYS) => assert!(!RAN.load(Ordering::Relaxed)),
            Ok(Threadlet::Inline) => assert!(RAN.load(Ordering::Relaxed)),
            other => panic!("unexpected {other:?}"),
        }
    }
}
