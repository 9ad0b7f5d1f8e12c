/*
 * defer_tramp.S: where a deferring function's `ret` lands.
 *
 * rt_defer replaced the function's saved return address with this code.
 * On entry (the function F just did `leave; ret`):
 *     %rsp = F's frame pointer + 16 (where F's caller G continues)
 *     %rbp = G's frame pointer; %rax:%rdx = F's results
 *     rt_defer_frames = F's record (the innermost deferring frame returns first)
 * F's locals, just below, are still intact: the deferred calls must not
 * run over them, so we move to run_sp, below F's frame, and build a frame
 * there whose return address is F's real one: a backtrace taken inside a
 * deferred call shows G and its callers. Stack while rt_defer_run runs:
 *
 *     run_sp - 8    resume %rsp (F's rbp + 16)     } stack words: adjusted
 *     run_sp - 16   0 (keeps %rsp 16-aligned)       } if the stack moves
 *     run_sp - 24   F's real return address
 *     run_sp - 32   G's %rbp   <- %rbp
 *
 * rt_defer_run runs F's deferred calls, newest first, and returns F's
 * results in %rax:%rdx (the named result, if F declared one). We return
 * to G with them.
 */
#define DF_RUN_SP 16
#define DF_RET 24

	.text
	.global rt_defer_trampoline
	.type rt_defer_trampoline, @function
rt_defer_trampoline:
	movq rt_defer_frames(%rip), %r11
	movq %rsp, %r10
	movq DF_RUN_SP(%r11), %rsp
	pushq %r10
	pushq $0
	pushq DF_RET(%r11)
	pushq %rbp
	movq %rsp, %rbp
	movq %r11, %rdi
	movq %rax, %rsi
	call rt_defer_run            /* (frame, rax, rdx) -> rax:rdx */
	popq %rbp
	popq %r11                    /* F's real return address */
	addq $8, %rsp
	popq %rsp                    /* back to where G continues */
	jmp *%r11
	.size rt_defer_trampoline, . - rt_defer_trampoline
	.section .note.GNU-stack, "", @progbits
