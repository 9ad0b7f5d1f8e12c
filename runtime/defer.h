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
 * Return from a deferring function with RT_RETURN(value), not `return`.
 * In C a local is dead once the function returns, so the compiler may drop
 * a last store to it, even one a deferred call reads after the return (it
 * did: deferClosure returned 1, not 5). The empty asm with a memory
 * clobber makes every store to a local whose address escaped happen first.
 */
#define RT_RETURN(v)                                      \
	do {                                              \
		__auto_type rt_return_value_ = (v);        \
		__asm__ volatile("" ::: "memory");          \
		return rt_return_value_;                    \
	} while (0)
#define RT_RETURN_VOID()                                  \
	do {                                              \
		__asm__ volatile("" ::: "memory");          \
		return;                                     \
	} while (0)

#define RT_DEFER_ARGS 6

struct rt_defer_rec;

/* Where a recovered panic resumes: see RT_RECOVER_RETURNS. */
struct rt_recovery {
	uint64_t rbp, rbx, r12, r13, r14, r15, rsp, rip;
};

struct rt_defer_frame {
	struct rt_defer_frame *next; /* the caller's deferring frame, if it defers too */
	uintptr_t rbp;               /* the deferring function's frame pointer: its id */
	uintptr_t run_sp;            /* deferred calls run below its frame, from here */
	uintptr_t ret;               /* its real return address */
	uint64_t *result;            /* the named result, or NULL */
	struct rt_defer_rec *defers; /* newest first */
	uint64_t count;
	int has_recovery;            /* RT_RECOVER_RETURNS ran in this frame */
	struct rt_recovery recovery;
};

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

int rt_defer(const void *fn, int nargs, ...);
int rt_defer_result(uint64_t *result);
uint64_t rt_defer_pending(void);
uint64_t rt_defers_adjust(struct rt_defer_frame *frames, uintptr_t lo, uintptr_t hi, intptr_t delta);
void rt_defers_drop(struct rt_defer_frame **frames);
void rt_defer_frame_free(struct rt_defer_frame *f);
void rt_defer_trim(void);
uint64_t rt_defer_cached(void);
extern struct rt_defer_frame *rt_defer_frames; /* the running context's innermost deferring frame */
int rt_defer_pop(struct rt_defer_frame *f, const void **fn, uint64_t *args);
#endif
