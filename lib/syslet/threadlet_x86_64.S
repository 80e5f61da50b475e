/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * long sl_threadlet_enter(long (*fn)(void *), void *arg, void *stack_top,
 *			   struct syslet_threadlet *t)
 *
 * The sequence of tools/threadlet/threadlet.h (read its comment for why
 * it is assembly: threadlet_on() returns twice, and nothing may be
 * written to the caller's stack between its first return and the switch
 * to the threadlet stack), with one addition: after fn returns, its
 * result and t->done = 1 are stored and waiters woken (FUTEX_WAKE on
 * &t->done) before threadlet_off(), with no further access to the
 * threadlet stack on the way. A thread that went asynchronous never
 * returns from threadlet_off(), so once done is 1 nothing uses the stack
 * any more and it may be unmapped.
 *
 *   %rbx fn, %r12 arg, %r13 stack top, %r14 t: callee-saved, set before
 *   the system call, so the second return (in the spare thread, with the
 *   registers of the call's entry) finds them too.
 *
 * struct syslet_threadlet: done (u32) at 0, result (long) at 8.
 */
#define NR_futex		202
#define NR_threadlet_on		603
#define NR_threadlet_off	604
#define FUTEX_WAKE_PRIVATE	129

	.text
	.globl	sl_threadlet_enter
	.hidden	sl_threadlet_enter
	.type	sl_threadlet_enter, @function
	.p2align 4
sl_threadlet_enter:
	.cfi_startproc
	push	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbx, 0
	push	%r12
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r12, 0
	push	%r13
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r13, 0
	push	%r14
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r14, 0
	mov	%rdi, %rbx
	mov	%rsi, %r12
	mov	%rdx, %r13
	mov	%rcx, %r14
	mov	$NR_threadlet_on, %eax
	xor	%edi, %edi
	syscall
	/* 0: the spare thread (fn went asynchronous); < 0: an error */
	test	%rax, %rax
	jle	1f
	.cfi_remember_state
	/* inline, in the calling thread: from here on no write to the
	 * caller's stack */
	mov	%rsp, %rcx
	mov	%r13, %rsp
	.cfi_undefined %rip
	push	%rcx
	sub	$8, %rsp
	mov	%r12, %rdi
	call	*%rbx
	mov	%rax, 8(%r14)
	movl	$1, (%r14)		/* x86 stores are ordered: result first */
	mov	$NR_futex, %eax
	mov	%r14, %rdi
	mov	$FUTEX_WAKE_PRIVATE, %esi
	mov	$0x7fffffff, %edx
	syscall
	mov	$NR_threadlet_off, %eax
	syscall
	/* returned: fn never blocked; back to the caller's stack */
	mov	8(%rsp), %rsp
	.cfi_restore_state
1:
	pop	%r14
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r14
	pop	%r13
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r13
	pop	%r12
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r12
	pop	%rbx
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rbx
	ret
	.cfi_endproc
	.size	sl_threadlet_enter, .-sl_threadlet_enter

	.section .note.GNU-stack, "", @progbits
