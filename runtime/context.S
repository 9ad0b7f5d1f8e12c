/*
 * switch.S: the context switch, the one piece of the runtime C cannot say.
 *
 * rt_switch(uintptr_t *save_rsp, uintptr_t load_rsp)
 *   Pushes the System V callee-saved registers on the current stack, stores
 *   %rsp in *save_rsp, loads load_rsp and pops the other context's. The
 *   caller-saved registers need no saving: the C caller assumes rt_switch
 *   clobbers them. A saved context on a stack, from load_rsp upwards:
 *
 *       load_rsp + 0   r15
 *                + 8   r14
 *                + 16  r13
 *                + 24  r12
 *                + 32  rbx
 *                + 40  rbp     (part of the frame-pointer chain)
 *                + 48  return address (into whoever called rt_switch)
 *
 *   Because the context lives on the task's own stack, a stack move adjusts
 *   it with everything else; the runtime only keeps saved_rsp, which it
 *   adjusts too. x87/SSE control words are not saved: the kernel uses
 *   general registers only, and host tasks must leave them at defaults.
 *
 * rt_switch_restore: the second half alone. The fault path resumes a
 *   killed task's successor here with %rsp = its saved context.
 */
	.text
	.global rt_switch, rt_switch_restore, rt_task_trampoline
	.type rt_switch, @function
rt_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
rt_switch_restore:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size rt_switch, . - rt_switch

/*
 * A new task's first context "returns" here (see task_init_stack in
 * task.c), with %rsp 8 below a 16-byte boundary like any function entry
 * and a zero return address above it. A zero %rbp ends backtraces.
 */
	.type rt_task_trampoline, @function
rt_task_trampoline:
	xorl %ebp, %ebp
	pushq %rbp
	call rt_task_main
	ud2
	.size rt_task_trampoline, . - rt_task_trampoline
	.section .note.GNU-stack, "", @progbits
