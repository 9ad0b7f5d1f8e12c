/*
 * context.S: switching between task stacks and the runtime's own stack,
 * the pieces of the runtime C cannot say (Go: gogo, mcall, systemstack in
 * runtime/asm_amd64.s).
 *
 * A context (struct rt_context, context.h) is kept in a record, never on
 * the stack it describes:
 *
 *     ctx + 0   rsp    the stack pointer once the call that saved it returned
 *         + 8   rip    where it continues (that call's return address)
 *         + 16  rbx, rbp, r12, r13, r14, r15: the callee-saved registers
 *
 * None of these routines writes to a task's stack: a task stack may be a
 * few bytes from its guard, and a fault in the middle of a switch would
 * find the runtime half-way between two tasks. The only write is the
 * `call` that enters them, which happens before anything has changed: a
 * fault there grows the stack of the task that is still running.
 *
 * The caller-saved registers need no saving: the C caller assumes they are
 * clobbered. The kernel uses general registers only; on the Linux port
 * tasks must leave the x87/SSE control words at their defaults.
 */
#include "context.h"

/* Saves the caller's context in *\ctx: our return address is where it
 * continues, and its %rsp is the one after that return. Clobbers %rax, \sp. */
.macro save_caller_context ctx, sp
	/* LAB switch BEGIN: save the caller's rsp (after our return), rip and callee-saved registers; keep the return address in %rax (rt_mcall pushes it) */
	movq (%rsp), %rax
	leaq 8(%rsp), \sp
	movq \sp, CTX_RSP(\ctx)
	movq %rax, CTX_RIP(\ctx)
	movq %rbx, CTX_RBX(\ctx)
	movq %rbp, CTX_RBP(\ctx)
	movq %r12, CTX_R12(\ctx)
	movq %r13, CTX_R13(\ctx)
	movq %r14, CTX_R14(\ctx)
	movq %r15, CTX_R15(\ctx)
	/* LAB switch ELSE
	movq (%rsp), %rax
	LAB switch END */
.endm

	.text
	.global rt_context_switch, rt_context_load, rt_mcall, rt_systemstack_call
	.global rt_task_trampoline, rt_kill_trampoline

/*
 * rt_context_switch(struct rt_context *save, const struct rt_context *load)
 *   Saves the caller's context in *save, then continues *load. Returns
 *   (to the caller, through *save) when someone continues *save.
 */
	.type rt_context_switch, @function
rt_context_switch:
	save_caller_context %rdi, %rcx
	movq %rsi, %rdi
	/* fall through */

/*
 * rt_context_load(const struct rt_context *ctx): continues ctx. Never returns.
 */
	.type rt_context_load, @function
rt_context_load:
	/* LAB switch BEGIN: load the callee-saved registers and rsp from *ctx, and continue at its rip (the ud2 stands in) */
	movq CTX_RBX(%rdi), %rbx
	movq CTX_RBP(%rdi), %rbp
	movq CTX_R12(%rdi), %r12
	movq CTX_R13(%rdi), %r13
	movq CTX_R14(%rdi), %r14
	movq CTX_R15(%rdi), %r15
	movq CTX_RSP(%rdi), %rsp
	xorl %eax, %eax
	jmpq *CTX_RIP(%rdi)
	/* LAB switch ELSE
	ud2
	LAB switch END */
	.size rt_context_switch, . - rt_context_switch

/*
 * rt_mcall(struct rt_context *save, void (*fn)(void *), void *arg, uintptr_t top)
 *   Saves the caller's context in *save (as rt_context_switch does), then
 *   calls fn(arg) on the runtime stack whose top is `top` (16-aligned).
 *   fn never returns: it continues some context. The runtime stack, while
 *   fn runs:
 *
 *       top - 8    the saved rip     } a frame for backtraces: fn's caller
 *       top - 16   the saved rbp     } is the task that called rt_mcall
 *       top - 24   fn's return address (ud2 below: fn must not return)
 */
	.type rt_mcall, @function
rt_mcall:
	save_caller_context %rdi, %r8     /* %rax: the saved rip, pushed below */
	movq %rcx, %rsp
	pushq %rax
	pushq %rbp
	movq %rsp, %rbp
	movq %rdx, %rdi
	call *%rsi
	ud2
	.size rt_mcall, . - rt_mcall

/*
 * uint64_t rt_systemstack_call(uint64_t (*fn)(void *), void *arg, uintptr_t top)
 *   Calls fn(arg) on the runtime stack whose top is `top` and returns its
 *   value, back on the caller's stack. The callee-saved registers are the
 *   caller's all along (fn preserves them), so nothing needs saving but
 *   the caller's %rsp. The runtime stack, while fn runs:
 *
 *       top - 8    the caller's %rsp
 *       top - 16   our return address   } a frame for backtraces: fn's
 *       top - 24   the caller's %rbp    } caller is the caller of this
 *       top - 32   (alignment)
 */
	.type rt_systemstack_call, @function
rt_systemstack_call:
	movq %rsp, %rax
	movq %rdx, %rsp
	pushq %rax
	pushq (%rax)
	pushq %rbp
	movq %rsp, %rbp
	subq $8, %rsp
	movq %rdi, %rcx
	movq %rsi, %rdi
	call *%rcx
	leave                         /* %rsp = top - 16, %rbp = the caller's */
	movq 8(%rsp), %rsp            /* back on the caller's stack, at our return address */
	ret
	.size rt_systemstack_call, . - rt_systemstack_call

/*
 * A new task's context continues here, with %rsp = its stack's top - 8
 * (as at any function entry) and nothing written on the stack yet: the
 * zero words above are the stack's own (stacks are mapped zeroed). A zero
 * %rbp ends backtraces.
 */
	.type rt_task_trampoline, @function
rt_task_trampoline:
	xorl %ebp, %ebp
	pushq %rbp
	movq %rsp, %rbp
	call rt_task_main
	ud2
	.size rt_task_trampoline, . - rt_task_trampoline

/*
 * The fault path resumes a task that must die here, on the runtime stack
 * (%rsp = its top), with the task in %rdi: the dying task's stack is not
 * touched again, and the work of killing it (its records, its stack, the
 * next task) is done as ordinary code rather than in the fault handler.
 */
	.type rt_kill_trampoline, @function
rt_kill_trampoline:
	xorl %ebp, %ebp
	pushq %rbp                    /* a zero return address */
	pushq %rbp                    /* and a zero frame link: backtraces end here */
	movq %rsp, %rbp
	call rt_task_killed
	ud2
	.size rt_kill_trampoline, . - rt_kill_trampoline
	.section .note.GNU-stack, "", @progbits
