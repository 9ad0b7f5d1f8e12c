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
 * Results: RT_RETURN(v) evaluates v before the deferred calls run, so they
 * cannot change what the caller receives, as in Go; except a named result
 * (rt_defer_result), a uint64_t the deferred calls may change, which
 * replaces v when v is an integer, a bool or a pointer: converted to v's
 * type (its low bytes; a bool is true if it is not 0), so return the named
 * result itself, RT_RETURN(b), not a literal of a narrower type. A
 * function returning a floating-point value or a struct has no named
 * result.
 */
#ifndef MORESTACK_DEFER_H
#define MORESTACK_DEFER_H

#include <stddef.h>
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
 * an error at its `ret` (see defer.c). RT_RETURN evaluates the value,
 * then runs the deferred calls (rt_defer_returning), then returns:
 *
 * In C a local is dead once the function returns, so the compiler may drop
 * a last store to it, even one a deferred call reads after the return (it
 * did: deferClosure returned 1, not 5). The empty asm with a memory
 * clobber makes every store to a local whose address escaped happen first.
 *
 * rt_defer_returning is inline: a load and a compare when this frame does
 * not defer (a function may defer on some paths only).
 */
/* sizeof(v) if a named result may replace v (an integer, enum, bool or pointer), else 0 */
#define RT_NAMED_RESULT_BYTES(v) \
	(__builtin_classify_type(v) >= 1 && __builtin_classify_type(v) <= 5 && sizeof(v) <= 8 ? sizeof(v) : 0)
#define RT_RETURN(v)                                                                      \
	do {                                                                              \
		__auto_type rt_return_value_ = (v);                                        \
		uint64_t rt_named_;                                                        \
		__asm__ volatile("" ::: "memory");                                          \
		if (rt_defer_returning((uintptr_t)__builtin_frame_address(0), &rt_named_) && \
		    RT_NAMED_RESULT_BYTES(rt_return_value_)) {                             \
			if (_Generic(rt_return_value_, _Bool: 1, default: 0))               \
				rt_named_ = rt_named_ != 0;                                  \
			__builtin_memcpy(&rt_return_value_, &rt_named_, /* little-endian */ \
					 RT_NAMED_RESULT_BYTES(rt_return_value_));          \
		}                                                                          \
		return rt_return_value_;                                                    \
	} while (0)
#define RT_RETURN_VOID()                                                                  \
	do {                                                                              \
		uint64_t rt_named_;                                                        \
		__asm__ volatile("" ::: "memory");                                          \
		(void)rt_defer_returning((uintptr_t)__builtin_frame_address(0), &rt_named_); \
		return;                                                                     \
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
 * internal.h) that RT_RETURN reads inline: the record begins with it.
 */
struct rt_defer_top {
	uintptr_t rbp;     /* the deferring function's frame pointer: its id */
};
struct rt_defer_frame;
extern struct rt_defer_frame *rt_defer_frames; /* the running context's innermost deferring frame */
struct rt_defer_returned {
	uint64_t named;     /* the named result's value after the deferred calls */
	uint64_t has_named; /* rt_defer_result declared one */
};                          /* returned in %rax:%rdx: nothing in the caller's frame */
struct rt_defer_returned rt_defer_return(struct rt_defer_frame *f);

/* RT_RETURN's half: if the innermost deferring frame is fp's (the caller's),
 * runs its deferred calls now (defer.c); returns 1 with the named result
 * in *named if it declared one, else 0. */
static inline __attribute__((always_inline)) int rt_defer_returning(uintptr_t fp, uint64_t *named)
{
	struct rt_defer_top *f = (struct rt_defer_top *)rt_defer_frames;
	if (f && f->rbp == fp) {
		struct rt_defer_returned r = rt_defer_return((struct rt_defer_frame *)f);
		*named = r.named;
		return (int)r.has_named;
	}
	return 0;
}

/* Where a deferring function's `ret` would land if it returned without
 * RT_RETURN (defer_tramp.S): the guard. Backtraces and the demos
 * recognise it as a return address. */
void rt_defer_trampoline(void);

/*
 * rt_defer(fn, nargs, args...): defers fn(args...) until the calling
 * function returns (defer.c). nargs, at most RT_DEFER_ARGS, must be the
 * number of args given, each an integer or a pointer cast to uint64_t.
 * A macro, so that the arguments go in registers (all of them, for up to
 * four: rt_defer4), converted as a prototype converts them, and their
 * count is checked: a wrong nargs arrives as -1 - (the count given).
 */
#define rt_defer(fn, nargs, ...)                                                              \
	__builtin_choose_expr(RT_DEFER_COUNT_(__VA_ARGS__) <= 4,                                \
			      rt_defer4((fn), RT_DEFER_NARGS_(nargs, __VA_ARGS__),              \
					RT_DEFER_PAD4_(0, ##__VA_ARGS__, 0, 0, 0, 0)),          \
			      rt_defer_args((fn), RT_DEFER_NARGS_(nargs, __VA_ARGS__),          \
					    RT_DEFER_PAD_(0, ##__VA_ARGS__, 0, 0, 0, 0, 0, 0)))
#define RT_DEFER_COUNT_(...) RT_DEFER_NTH_(0, ##__VA_ARGS__, 7, 6, 5, 4, 3, 2, 1, 0)
#define RT_DEFER_NTH_(z, a, b, c, d, e, f, g, n, ...) n
#define RT_DEFER_NARGS_(nargs, ...) \
	((nargs) == RT_DEFER_COUNT_(__VA_ARGS__) ? (nargs) : -1 - RT_DEFER_COUNT_(__VA_ARGS__))
#define RT_DEFER_PAD_(z, a, b, c, d, e, f, ...) a, b, c, d, e, f
#define RT_DEFER_PAD4_(z, a, b, c, d, ...) a, b, c, d
int rt_defer4(const void *fn, int nargs, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
int rt_defer_args(const void *fn, int nargs, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		  uint64_t a4, uint64_t a5);
int rt_defer_result(uint64_t *result);
uint64_t rt_defer_pending(void);   /* deferred calls not yet run, in every frame of this context */
uint64_t rt_defer_cached(void);    /* defer records kept for reuse */
#endif
