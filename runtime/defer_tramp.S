/*
 * defer_tramp.S: where a deferring function's `ret` lands if it returns
 * without RT_RETURN.
 *
 * rt_defer replaced the function F's saved return address with this code;
 * RT_RETURN puts the real one back before F's `ret` (defer.c), so only a
 * plain `return` gets here. F's deferred calls cannot run now: F's frame
 * is below %rsp, dead, and C gave no word on where its live memory ended.
 * We call rt_defer_unreturned(f), which says so and stops the task; it
 * never returns. On entry (F just did `leave; ret`):
 *
 *     %rsp = F's frame pointer + 16 (where F's caller G continues)
 *     %rbp = G's frame pointer
 *     rt_defer_frames = F's record f (the innermost deferring frame)
 *
 * The frame built for the call, so that a backtrace shows G and its
 * callers:
 *
 *     F's real return address (f->ret, a return into G)
 *     G's %rbp    <- %rbp
 *     (alignment to 16 bytes)
 */
#include "internal.h"

	.text
	.global rt_defer_trampoline
	.type rt_defer_trampoline, @function
rt_defer_trampoline:
	movq rt_defer_frames(%rip), %rdi
	pushq RT_DF_RET(%rdi)
	pushq %rbp
	movq %rsp, %rbp
	andq $-16, %rsp
	call rt_defer_unreturned     /* (f): never returns */
	ud2
	.size rt_defer_trampoline, . - rt_defer_trampoline
	.section .note.GNU-stack, "", @progbits
