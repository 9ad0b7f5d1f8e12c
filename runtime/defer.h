/*
 * defer.h: Go's defer for C functions running on the runtime.
 *
 *     RT_DEFERS uint64_t incrn(uint64_t a)
 *     {
 *             uint64_t b = 0;              // the named result
 *             rt_defer_result(&b);          // what the caller receives, after the defers
 *             rt_defer(fn, 2, x, y);        // fn(x, y) at return; x and y evaluated now
 *             ...
 *             RT_RETURN(b);
 *     }
 *
 * Deferred calls run last-in first-out when the function returns (not at
 * the end of a block), with the function's locals still intact, so a
 * deferred closure may read and change them. See defer.c for how.
 *
 * Results: whatever the function returns in registers reaches its caller
 * unchanged by the deferred calls: %rax:%rdx always, and on the Linux port
 * %xmm0, %xmm1 and the x87 %st0/%st1 too (double, float, long double,
 * small structs of them; see defer_tramp.S). A named result
 * (rt_defer_result) is an integer or pointer, a uint64_t the deferred
 * calls may change, and it replaces %rax only: a function returning a
 * floating-point or two-register value has no named result.
 */
#ifndef MORESTACK_DEFER_H
#define MORESTACK_DEFER_H

#include <stdint.h>

/*
 * Every function that defers must be marked RT_DEFERS: defer works by
 * replacing the function's own return address, so it must have its own
 * frame (not inlined into its caller), a frame pointer, and return with a
 * real `ret` (no sibling call that would reuse the frame).
 */
#define RT_DEFERS __attribute__((noinline, noipa, optimize("no-omit-frame-pointer", "no-optimize-sibling-calls")))

/*
 * Return from a deferring function with RT_RETURN(value), not `return`;
 * a function that returns any other way after deferring is stopped with
 * an error when its deferred calls would run. It does two things:
 *
 * In C a local is dead once the function returns, so the compiler may drop
 * a last store to it, even one a deferred call reads after the return (it
 * did: deferClosure returned 1, not 5). The empty asm with a memory
 * clobber makes every store to a local whose address escaped happen first.
 *
 * It tells the runtime the function's lowest stack pointer: memory from
 * alloca or a variable-length array made after the last rt_defer lies
 * below what rt_defer saw, and the deferred calls must run below it (the
 * test saw them overwrite it). rt_defer_returning is inline: a load, a
 * compare, and two stores when this frame defers.
 */
#define RT_RETURN(v)                                      \
	do {                                              \
		__auto_type rt_return_value_ = (v);        \
		__asm__ volatile("" ::: "memory");          \
		rt_defer_returning((uintptr_t)__builtin_frame_address(0)); \
		return rt_return_value_;                    \
	} while (0)
#define RT_RETURN_VOID()                                  \
	do {                                              \
		__asm__ volatile("" ::: "memory");          \
		rt_defer_returning((uintptr_t)__builtin_frame_address(0)); \
		return;                                     \
	} while (0)

#define RT_DEFER_ARGS 6

/*
 * RT_RECOVER_RETURNS(v), at the top of a deferring function whose deferred
 * calls may recover a panic: when one does, the function returns v (its
 * named result, usually) to its caller, as Go's do. It is a recovery
 * point, like setjmp: it saves the callee-saved registers the caller's
 * frame needs, and a recovered panic resumes there. A function without
 * one cannot be resumed: a recover in its deferred calls kills the task.
 */
int rt_recovery_point(void) __attribute__((returns_twice));
#define RT_RECOVER_RETURNS(v)                       \
	do {                                        \
		if (rt_recovery_point())            \
			RT_RETURN(v);               \
	} while (0)

/*
 * The part of a deferring function's record (struct rt_defer_frame,
 * internal.h) that RT_RETURN updates inline: the record begins with it.
 */
struct rt_defer_top {
	uintptr_t rbp;     /* the deferring function's frame pointer: its id */
	uintptr_t run_sp;  /* deferred calls run from here: below its lowest %rsp seen */
	int returning;     /* RT_RETURN ran in this frame (run_sp then holds its return %rsp) */
};
struct rt_defer_frame;
extern struct rt_defer_frame *rt_defer_frames; /* the running context's innermost deferring frame */

/* RT_RETURN's half: if the innermost deferring frame is fp's (the caller's), lower
 * its run_sp to below its current stack pointer (128 bytes: the
 * red zone) and note that it returns properly. */
#define RT_DEFER_RED_ZONE 128
static inline __attribute__((always_inline)) void rt_defer_returning(uintptr_t fp)
{
	struct rt_defer_top *f = (struct rt_defer_top *)rt_defer_frames;
	if (f && f->rbp == fp) {
		uintptr_t sp;
		__asm__ volatile("movq %%rsp, %0" : "=r"(sp));
		sp = (sp - RT_DEFER_RED_ZONE) & ~(uintptr_t)15;
		if (sp < f->run_sp)
			f->run_sp = sp;
		f->returning = 1;
	}
}

/* Where a deferring function's `ret` lands (defer_tramp.S): backtraces
 * and the demos recognise it as a return address. */
void rt_defer_trampoline(void);

int rt_defer(const void *fn, int nargs, ...);
int rt_defer_result(uint64_t *result);
uint64_t rt_defer_pending(void);   /* deferred calls not yet run, in every frame of this context */
uint64_t rt_defer_cached(void);    /* defer records kept for reuse */
#endif
