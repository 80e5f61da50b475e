/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Threadlets from user space: run a function on its own stack, inline in
 * the caller; if it blocks in the kernel, the caller goes on at once and
 * the function finishes in a thread of its own (Ingo Molnar's 2007
 * threadlets, on the threadlet_on()/threadlet_off() calls of
 * include/uapi/linux/syslet.h and Documentation/syslets.md).
 *
 *	long threadlet_exec(void (*fn)(void *), void *arg,
 *			    void *stack, size_t stack_size);
 *
 * returns
 *   THREADLET_INLINE (1)      fn(arg) ran to its end without blocking;
 *   THREADLET_WENT_ASYNC (0)  fn(arg) blocked: the caller goes on while fn
 *                             is still running (or has just finished) in
 *                             another thread; fn must report its own
 *                             completion (a flag and a futex wake, a ring
 *                             entry, a pipe write...);
 *   -errno                    nothing ran: -EINVAL (no fn, no stack or
 *                             one under 256 bytes), -EBUSY (the calling
 *                             thread is already in threadlet mode, e.g.
 *                             fn called threadlet_exec()), -ENOSYS (a
 *                             kernel without threadlets).
 *
 * Contract for fn and its stack:
 *
 * - The stack [stack, stack + stack_size) must stay valid, and must not be
 *   reused, until fn's thread has left it. fn signalling its completion is
 *   not enough: its thread still runs fn's epilogue and enters
 *   threadlet_off() on that stack after the signal. Give each threadlet
 *   its own stack; free it only when the thread is known to be gone
 *   (the process exits, or a later handshake outside fn).
 * - fn runs concurrently with its caller once it has blocked, so whatever
 *   it shares with the caller needs atomics or locks.
 * - Once fn may have blocked it runs in a thread with another TID but with
 *   the caller's FS base, so its TLS is the caller's TLS, and the caller
 *   uses it at the same time: fn must not use TLS after its first
 *   possible block. That rules out errno (libc wrappers write it on
 *   failure, so issue system calls with inline `syscall` instead),
 *   malloc arenas and stdio locks tied to the thread, pthread_self(), and
 *   anything else that finds its state through %fs.
 * - Once asynchronous, fn's thread runs with every signal blocked but the
 *   synchronous ones its own faults raise (SIGSEGV, SIGBUS, SIGILL,
 *   SIGTRAP, SIGFPE, SIGSYS): only their handlers can run on it, on fn's
 *   stack.
 * - fn must return normally (no longjmp() out, no exceptions through it,
 *   no pthread_exit()): threadlet_off() after its return is what releases
 *   its thread.
 *
 * Why assembly: threadlet_on() returns twice, like vfork(). It returns 1
 * in the calling thread, which then runs fn; if fn blocks, a spare thread
 * of the process takes the register state remembered at threadlet_on()'s
 * entry and returns from the same system call with 0, on the caller's
 * stack, while the first thread is still in fn. Between its return with 1
 * and the switch to the threadlet stack, the first thread must therefore
 * write nothing on the caller's stack: the second thread will resume on
 * it, expecting it as it was at the system call. Compiled C gives no such
 * guarantee, so the sequence is written out below: the callee-saved
 * registers it needs are pushed before the system call (both returns pop
 * them), and the first thread's first push after it goes on the new
 * stack. For the C caller threadlet_exec() returns exactly once per call,
 * as an ordinary function (the register state of that return is the one
 * of the call, whichever thread carries it), so it needs no
 * returns_twice.
 *
 * Limits: x86-64 only; the code assumes the assembler's default AT&T
 * syntax (do not build with -masm=intel); with a CET shadow stack enabled
 * in user space the second return would not match the shadow stack of the
 * thread that makes it, so programs using threadlets must not enable one.
 * A signal delivered to the caller right at threadlet_on()'s return, before
 * the stack switch, runs its handler on the caller's stack with threadlet
 * mode on; a handler that blocks there makes the spare thread return onto
 * the stack under the handler. Block signals around threadlet_exec() if
 * their handlers can block.
 */
#ifndef SYSLET_THREADLET_H
#define SYSLET_THREADLET_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/syslet.h>

#if !defined(__x86_64__)
#error "threadlet.h: threadlets exist on x86-64 only"
#endif

#define THREADLET_STR_(x)	#x
#define THREADLET_STR(x)	THREADLET_STR_(x)

/* Unwind directives, where the compiler emits unwind tables at all. */
#ifdef __GCC_HAVE_DWARF2_CFI_ASM
#define THREADLET_CFI(x)	x "\n"
#else
#define THREADLET_CFI(x)	""
#endif

/* GCC must neither inline the code nor drop or move arguments it cannot
 * see being used (the body is assembly: nothing "uses" them); clang
 * leaves naked functions alone. */
#ifdef __clang__
#define THREADLET_NAKED		__attribute__((naked, noinline, unused))
#else
#define THREADLET_NAKED		__attribute__((naked, noipa, unused))
#endif

/*
 * threadlet_exec_asm(fn, arg, stack_top): stack_top is 16-byte aligned
 * and is where the threadlet stack starts (it grows down). Returns
 * threadlet_on()'s 0 or -errno, or threadlet_off()'s value (1, or -errno
 * if fn itself ended the threadlet) after fn returned inline.
 *
 * A naked function rather than top-level asm: a static function is
 * private to each file that includes this header (and is only emitted
 * where it is used), which stays true under LTO, where top-level asm of
 * several files lands in one assembler input and defines its symbol
 * twice.
 *
 *   %rbx fn, %r12 arg, %r13 stack top: callee-saved, so fn preserves them
 *   and the second return (whose registers are those of the system call's
 *   entry) finds them too. The caller's values are pushed before the
 *   system call and popped by whichever thread returns.
 *
 * The threadlet stack, from its top: the caller's %rsp (so that the
 * inline return finds its stack again), 8 bytes of padding for the ABI's
 * 16-byte alignment at the call, then fn's return address and frames.
 *
 * Unwind info: after the switch the return address column is marked
 * undefined, so debuggers and unwinders stop at the threadlet's first
 * frame (the caller's frames may by then belong to another thread), as
 * glibc does for a clone() child.
 */
static THREADLET_NAKED long
threadlet_exec_asm(void (*fn)(void *) __attribute__((unused)),
		   void *arg __attribute__((unused)),
		   void *stack_top __attribute__((unused)))
{
	__asm__(
	"	push %rbx\n"
	THREADLET_CFI("	.cfi_adjust_cfa_offset 8")
	THREADLET_CFI("	.cfi_rel_offset %rbx,0")
	"	push %r12\n"
	THREADLET_CFI("	.cfi_adjust_cfa_offset 8")
	THREADLET_CFI("	.cfi_rel_offset %r12,0")
	"	push %r13\n"
	THREADLET_CFI("	.cfi_adjust_cfa_offset 8")
	THREADLET_CFI("	.cfi_rel_offset %r13,0")
	"	mov %rdi,%rbx\n"
	"	mov %rsi,%r12\n"
	"	mov %rdx,%r13\n"
	"	mov $" THREADLET_STR(__NR_threadlet_on) ",%eax\n"
	"	xor %edi,%edi\n"
	"	syscall\n"
	/* 0: this is the spare thread, fn went asynchronous; <0: error. */
	"	test %rax,%rax\n"
	"	jle 1f\n"
	/* Inline, in the calling thread: no write to the old stack from
	 * here on. %rcx is free (the syscall instruction clobbered it). */
	THREADLET_CFI("	.cfi_remember_state")
	"	mov %rsp,%rcx\n"
	"	mov %r13,%rsp\n"
	THREADLET_CFI("	.cfi_undefined %rip")
	"	push %rcx\n"
	"	sub $8,%rsp\n"
	"	mov %r12,%rdi\n"
	"	call *%rbx\n"
	/* threadlet_off(): returns 1 if fn never blocked; if it did, this
	 * thread's context went to the caller and the call never returns. */
	"	mov $" THREADLET_STR(__NR_threadlet_off) ",%eax\n"
	"	syscall\n"
	"	mov 8(%rsp),%rsp\n"
	THREADLET_CFI("	.cfi_restore_state")
	"1:\n"
	"	pop %r13\n"
	THREADLET_CFI("	.cfi_adjust_cfa_offset -8")
	THREADLET_CFI("	.cfi_restore %r13")
	"	pop %r12\n"
	THREADLET_CFI("	.cfi_adjust_cfa_offset -8")
	THREADLET_CFI("	.cfi_restore %r12")
	"	pop %rbx\n"
	THREADLET_CFI("	.cfi_adjust_cfa_offset -8")
	THREADLET_CFI("	.cfi_restore %rbx")
	"	ret\n");
}

/*
 * Runs fn(arg) on [stack, stack + stack_size) as a threadlet; see the top
 * of this file for the return values and for what fn may do.
 */
static inline long threadlet_exec(void (*fn)(void *), void *arg,
				  void *stack, size_t stack_size)
{
	uintptr_t top;

	/* Room for the saved %rsp, the padding and a frame or two of fn. */
	if (!fn || !stack || stack_size < 256 ||
	    (uintptr_t)stack + stack_size < (uintptr_t)stack)
		return -EINVAL;
	top = ((uintptr_t)stack + stack_size) & ~(uintptr_t)15;
	return threadlet_exec_asm(fn, arg, (void *)top);
}

#endif /* SYSLET_THREADLET_H */
