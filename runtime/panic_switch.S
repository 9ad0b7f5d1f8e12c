/*
 * panic_switch.S: the two pieces of panic/recover C cannot write.
 *
 * rt_recovery_point(): returns 0, after saving its caller's context in the
 *   caller's defer frame record (rt_recovery_save): %rbx, %rbp, %r12-%r15,
 *   the stack pointer after return, and the return address. Declared
 *   returns_twice, like setjmp: a recovered panic makes it return 1 there
 *   (rt_recovery_resume), and the compiler keeps what that needs.
 *
 * rt_context_save(ctx): returns 0, after saving its caller's context in
 *   *ctx (struct rt_recovery), for rt_defer_run_all: a panic recovered
 *   while it runs deferred calls resumes it there, returning 1.
 *
 * rt_defer_call(fn, args, &sp): calls fn(args[0..5]) and stores in *sp the
 *   stack pointer just before the call, so rt_recover can tell whether its
 *   caller is the deferred call itself (its frame pointer is sp - 16).
 */
	.text
	.global rt_recovery_point, rt_recovery_resume, rt_defer_call, rt_context_save

	.type rt_recovery_point, @function
rt_recovery_point:
	pushq %r15
	pushq %r14
	pushq %r13
	pushq %r12
	pushq %rbx
	pushq %rbp
	movq %rsp, %rdi               /* saved: rbp, rbx, r12, r13, r14, r15 */
	leaq 56(%rsp), %rsi           /* the caller's %rsp once we return */
	movq 48(%rsp), %rdx           /* our return address */
	subq $8, %rsp                 /* 16-byte alignment for the call */
	call rt_recovery_save
	addq $56, %rsp                /* callee-saved registers are unchanged: drop the copies */
	xorl %eax, %eax
	ret
	.size rt_recovery_point, . - rt_recovery_point

/* rt_context_save(ctx): ctx = {rbp, rbx, r12, r13, r14, r15, rsp, rip} of the caller. */
	.type rt_context_save, @function
rt_context_save:
	movq %rbp, 0(%rdi)
	movq %rbx, 8(%rdi)
	movq %r12, 16(%rdi)
	movq %r13, 24(%rdi)
	movq %r14, 32(%rdi)
	movq %r15, 40(%rdi)
	leaq 8(%rsp), %rax            /* the caller's %rsp once we return */
	movq %rax, 48(%rdi)
	movq (%rsp), %rax             /* our return address */
	movq %rax, 56(%rdi)
	xorl %eax, %eax
	ret
	.size rt_context_save, . - rt_context_save

/* rt_recovery_resume(ctx): ctx = {rbp, rbx, r12, r13, r14, r15, rsp, rip}; returns 1 there. */
	.type rt_recovery_resume, @function
rt_recovery_resume:
	movq 0(%rdi), %rbp
	movq 8(%rdi), %rbx
	movq 16(%rdi), %r12
	movq 24(%rdi), %r13
	movq 32(%rdi), %r14
	movq 40(%rdi), %r15
	movq 48(%rdi), %rsp
	movl $1, %eax
	jmp *56(%rdi)
	.size rt_recovery_resume, . - rt_recovery_resume

/* rt_defer_call(fn, args, sp_out) */
	.type rt_defer_call, @function
rt_defer_call:
	pushq %rbp
	movq %rsp, %rbp
	movq %rdi, %rax
	movq %rsi, %r11
	movq %rsp, (%rdx)             /* %rsp just before the call below (16-aligned: one push) */
	movq 0(%r11), %rdi
	movq 8(%r11), %rsi
	movq 16(%r11), %rdx
	movq 24(%r11), %rcx
	movq 32(%r11), %r8
	movq 40(%r11), %r9
	call *%rax
	popq %rbp
	ret
	.size rt_defer_call, . - rt_defer_call
	.section .note.GNU-stack, "", @progbits
