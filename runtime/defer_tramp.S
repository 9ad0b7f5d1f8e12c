/*
 * defer_tramp.S: where a deferring function's `ret` lands.
 *
 * rt_defer replaced the function's saved return address with this code.
 * On entry (the function F just did `leave; ret`):
 *     %rsp = F's frame pointer + 16 (where F's caller G continues)
 *     %rbp = G's frame pointer
 *     F's results in its return registers (System V ABI): %rax, %rdx;
 *       %xmm0, %xmm1 (float, double, structs of them); %st0, %st1
 *       (long double, complex long double)
 *     rt_defer_frames = F's record f (the innermost deferring frame returns first)
 *
 * The deferred calls are ordinary C calls: they may change every one of
 * those registers (a deferred call that computes a double leaves it in
 * %xmm0, one that uses the x87 may leave %st0 anything), and the ABI wants
 * the x87 stack empty at a call. So the results go into f->res first, the
 * x87 ones popped off, and come back after. They are kept in f, in the
 * heap, not on the stack: a stack move adjusts any stack word that looks
 * like a stack address, which a double's bits could. rt_defer_run leaves
 * f unlinked but not yet reused until the next deferring return.
 *
 * Which registers: on the Linux port every result register above. The
 * kernel is built with -mgeneral-regs-only: no SSE or x87 code anywhere,
 * and this file must not touch them either. GCC defines __SSE__ for x86-64 and not under
 * -mgeneral-regs-only (checked: gcc 12, `gcc -mgeneral-regs-only -dM -E`),
 * so `#ifdef __SSE__` chooses: without it only %rax:%rdx are kept, all a
 * general-registers-only function can return. Not kept: the upper halves
 * of %ymm0/%zmm0 (__m256 and __m512 results, only with -mavx*).
 *
 * F's locals, just above, are still intact: the deferred calls must not
 * run over them, so we move to f->run_sp, below the lowest point F's
 * stack reached (its RT_RETURN recorded it: see defer.c), and build a
 * frame there whose return address is F's real one: a backtrace taken
 * inside a deferred call shows G and its callers. Stack while
 * rt_defer_run runs:
 *
 *     run_sp - 8    resume %rsp (F's rbp + 16)     } stack words: adjusted
 *     run_sp - 16   0 (keeps %rsp 16-aligned)       } if the stack moves
 *     run_sp - 24   F's real return address
 *     run_sp - 32   G's %rbp   <- %rbp
 *
 * rt_defer_run runs F's deferred calls, newest first, puts the named
 * result, if F declared one, in f->res.rax, and returns f. We reload the
 * results and return to G with them.
 */
#include "internal.h"

#define X87_C3_C2_C0 0x4500
#define X87_EMPTY 0x4100             /* fxam: C3=1 C2=0 C0=1 */
#define X87_TOP 0x3800               /* status word: the stack top's register number */

	.text
	.global rt_defer_trampoline
	.type rt_defer_trampoline, @function
rt_defer_trampoline:
	movq rt_defer_frames(%rip), %r11
	movq %rax, RT_DF_RES+RT_DR_RAX(%r11)
	movq %rdx, RT_DF_RES+RT_DR_RDX(%r11)
#ifdef __SSE__
	movdqu %xmm0, RT_DF_RES+RT_DR_XMM0(%r11)
	movdqu %xmm1, RT_DF_RES+RT_DR_XMM1(%r11)
	/* Pop up to two x87 results, as many as are there. fxam tells an empty
	 * register, but costs 230 ns (measured, on an empty one; the whole
	 * deferring call is 25 ns), so the status word's TOP field filters
	 * first: the stack is empty at every call and return boundary (ABI), so
	 * with no result on it TOP is where it started, 0 (fninit, exec), and
	 * fxam runs only for long double results. Padding is zeroed: the record
	 * then holds only the 10 bytes fstpt writes. */
	xorl %ecx, %ecx
	fnstsw RT_DF_RES+RT_DR_NST(%r11)
	testw $X87_TOP, RT_DF_RES+RT_DR_NST(%r11)
	jz 1f
	movq $0, RT_DF_RES+RT_DR_ST0+8(%r11)
	movq $0, RT_DF_RES+RT_DR_ST1+8(%r11)
	fxam
	fnstsw %ax
	andw $X87_C3_C2_C0, %ax
	cmpw $X87_EMPTY, %ax
	je 1f
	fstpt RT_DF_RES+RT_DR_ST0(%r11)
	incl %ecx
	fxam
	fnstsw %ax
	andw $X87_C3_C2_C0, %ax
	cmpw $X87_EMPTY, %ax
	je 1f
	fstpt RT_DF_RES+RT_DR_ST1(%r11)
	incl %ecx
1:	movq %rcx, RT_DF_RES+RT_DR_NST(%r11)
#endif
	movq %rsp, %r10
	movq RT_DF_RUN_SP(%r11), %rsp
	pushq %r10
	pushq $0
	pushq RT_DF_RET(%r11)
	pushq %rbp
	movq %rsp, %rbp
	movq %r11, %rdi
	call rt_defer_run            /* (f) -> f, results in f->res */
	movq %rax, %r11
#ifdef __SSE__
	movq RT_DF_RES+RT_DR_NST(%r11), %rcx
	testq %rcx, %rcx
	jz 2f
	cmpq $1, %rcx
	je 3f
	fldt RT_DF_RES+RT_DR_ST1(%r11)  /* pushed first: it ends up in %st1 */
3:	fldt RT_DF_RES+RT_DR_ST0(%r11)
2:	movdqu RT_DF_RES+RT_DR_XMM0(%r11), %xmm0
	movdqu RT_DF_RES+RT_DR_XMM1(%r11), %xmm1
#endif
	movq RT_DF_RES+RT_DR_RAX(%r11), %rax
	movq RT_DF_RES+RT_DR_RDX(%r11), %rdx
	popq %rbp
	popq %r11                    /* F's real return address */
	addq $8, %rsp
	popq %rsp                    /* back to where G continues */
	jmp *%r11
	.size rt_defer_trampoline, . - rt_defer_trampoline
	.section .note.GNU-stack, "", @progbits
