/*
 * defer.c: defer as Go 1.14+ does it for most functions (open-coded
 * defers: the deferred calls run at the return statement), with records
 * like Go's _defer for panics, and the return address as the guard.
 *
 * rt_defer, called from a deferring function F, finds F's frame through
 * the frame-pointer chain: its own saved %rbp is F's %rbp, and F's return
 * address sits just above that. The first defer in F makes F's frame
 * record (struct rt_defer_frame, internal.h), keeps F's return address in
 * it and overwrites it with rt_defer_trampoline; each defer pushes a
 * record {fn, args copied now} on it. F returns with RT_RETURN(v)
 * (defer.h), which evaluates v, then calls rt_defer_return:
 *
 *     F's return address   rt_defer_trampoline -> the real one again (1)
 *     F's saved %rbp       <- F's %rbp: the record's id
 *     F's locals           still live: deferred closures read and change them
 *     alloca / VLA memory  live until F returns
 *     ... RT_RETURN's %rsp
 *     rt_defer_return      (1) puts the return address back,
 *                          (2) runs the deferred calls, newest first, below it all,
 *                          (3) hands back the named result, if any, for v,
 *                          (4) unlinks and frees the record
 *     the deferred call
 *
 * and F's own `ret` then goes to its caller, where the CPU's return-stack
 * buffer predicted it (a `ret` into a trampoline is mispredicted every
 * time: the `return-hijack-floor` row of `make bench`, 12.7 ns of a
 * 2.4 ns call). Step (1) comes first so that a backtrace taken in a
 * deferred call, or a panic's report, shows F's real callers.
 *
 * The hijacked return address is the guard for what C cannot check: a
 * deferring function that leaves by a plain `return` lands in
 * rt_defer_trampoline (defer_tramp.S), which stops it with an error that
 * names its caller, rather than run its deferred calls (their stack could
 * overwrite memory the function still had live) or drop them silently.
 *
 * Panics find the records, as Go's panic finds open-coded defers through
 * funcdata: rt_panic (panic.c) takes the innermost pending call off the
 * list, whichever function deferred it. Each record is taken off before
 * its call, so a deferred call that panics never runs twice. When one
 * recovers, rt_panic runs F's remaining calls from its own frame, below
 * all of F's memory, then resumes F at its recovery point, whose
 * RT_RETURN finds nothing left to run.
 *
 * Frame records form a per-task list, innermost first (rt_defer_frames
 * for the running task, swapped by the scheduler); records live in the
 * heap and are adjusted when the stack moves (rt_defers_adjust). The
 * first deferred call of a frame lives in the frame record itself: a
 * function that defers once costs one record.
 *
 * Out of memory: a record that cannot be allocated stops the task with
 * "out of memory in defer" (outside tasks, the program), as Go throws: a
 * deferred call is never dropped, and never runs out of order.
 *
 * What breaks the return-address guard: a deferring function inlined
 * into its caller or leaving by a sibling call, or built without frame
 * pointers (RT_DEFERS forbids all three); CET shadow stacks (the kernel
 * never enables CET; the Linux port is built with -fcf-protection=none).
 * rt_defer also checks that the frame it is about to change looks like one.
 */
#include <stddef.h>

#include "defer.h"
#include "internal.h"
#include "heap.h"
#include "platform.h"
#include "rt.h"

#include "format.h"

struct rt_defer_frame *rt_defer_frames;
_Noreturn void rt_kill_self(const char *reason);
int rt_context_save(struct rt_recovery *ctx) __attribute__((returns_twice));

/* defer_tramp.S reads the record by this offset; RT_RETURN reads its head. */
_Static_assert(offsetof(struct rt_defer_frame, top) == 0, "RT_RETURN reads the record as a struct rt_defer_top");
_Static_assert(offsetof(struct rt_defer_frame, ret) == RT_DF_RET, "RT_DF_RET");

/* A record could not be allocated: Go throws "out of memory"; the task stops here. */
static _Noreturn void out_of_memory(const char *what)
{
	rt_print("fatal error: runtime: out of memory in defer (no room for %s)\n", what);
	if (!rt_current())
		rt_fatal("runtime: out of memory in defer");
	rt_kill_self("out of memory in defer");
}

/*
 * Records come from free lists before the heap: a defer per call would
 * otherwise pay two heap allocations and two validated frees (55 ns a
 * deferring call, measured; Go's record-based defer is 35). One CPU, no
 * preemption: plain lists. SMP will want one per CPU.
 */
#define CACHE_MAX 256
static struct rt_defer_frame *free_frames;
static struct rt_defer_rec *free_recs;
static unsigned free_frames_n, free_recs_n;

/* A frame record with no defers, no result, no recovery point (the rest is set by frame_for). */
static __attribute__((noinline)) struct rt_defer_frame *frame_alloc(void)
{
	struct rt_defer_frame *f = rt_alloc(sizeof *f); /* zeroed */
	if (!f)
		out_of_memory("a frame record");
	return f;
}

static inline struct rt_defer_frame *frame_new(void)
{
	struct rt_defer_frame *f = free_frames;
	if (__builtin_expect(!f, 0))
		return frame_alloc();
	free_frames = f->next;
	free_frames_n--;
	f->result = NULL;
	f->defers = NULL;
	f->has_recovery = 0;
	return f;
}

static void frame_release(struct rt_defer_frame *f)
{
	if (free_frames_n >= CACHE_MAX) {
		rt_free(f);
		return;
	}
	f->next = free_frames;
	free_frames = f;
	free_frames_n++;
}

/* A record for one more deferred call of f: f's own for its first. */
static struct rt_defer_rec *rec_new(struct rt_defer_frame *f)
{
	if (!f->defers)
		return &f->first;
	struct rt_defer_rec *r = free_recs;
	if (!r) {
		r = rt_alloc(sizeof *r);
		if (!r)
			out_of_memory("a deferred call's record");
		return r;
	}
	free_recs = r->next;
	free_recs_n--;
	return r;
}

static void rec_release(struct rt_defer_frame *f, struct rt_defer_rec *r)
{
	if (r == &f->first)
		return;
	if (free_recs_n >= CACHE_MAX) {
		rt_free(r);
		return;
	}
	r->next = free_recs;
	free_recs = r;
	free_recs_n++;
}

/* The record for the frame whose %rbp is f_rbp (its caller's %rsp is above
 * f_rsp), hijacking its return on first use. NULL: refused. */
static inline __attribute__((always_inline)) struct rt_defer_frame *frame_for(uintptr_t f_rbp,
										    uintptr_t f_rsp)
{
	struct rt_defer_frame *f = rt_defer_frames;
	if (f && f->top.rbp == f_rbp)
		return f;
	/* F's frame must be above our caller's stack pointer, and word aligned. */
	if (f_rbp < f_rsp || (f_rbp & 7) || (f && f_rbp > f->top.rbp)) {
		rt_print("runtime: defer: the caller's frame pointer %#lx is not a frame (missing RT_DEFERS?)\n",
			 f_rbp);
		return NULL;
	}
	f = frame_new();
	f->top.rbp = f_rbp;
	f->next = rt_defer_frames;
	rt_defer_frames = f;
	/* LAB defer BEGIN: keep F's return address in f->ret and put rt_defer_trampoline in its place */
	uintptr_t *ret_slot = (uintptr_t *)f_rbp + 1;
	f->ret = *ret_slot;
	*ret_slot = (uintptr_t)rt_defer_trampoline;
	/* LAB defer ELSE
	f->ret = 0;
	LAB defer END */
	return f;
}

/*
 * Defers fn(args...) until the calling function returns: rt_defer in
 * defer.h, which passes the args padded to RT_DEFER_ARGS with zeros. The
 * nargs integer or pointer arguments are copied now, as Go evaluates a
 * deferred call's arguments at the defer statement. fn may be a closure.
 * Returns 0, or -1 (with a message) for a call it refuses (a wrong count
 * of arguments, a caller that is not a deferring frame); out of memory
 * stops the task instead.
 */
static inline __attribute__((always_inline)) int defer_in(uintptr_t *fp, const void *fn, int nargs,
							 uint64_t a0, uint64_t a1, uint64_t a2,
							 uint64_t a3, uint64_t a4, uint64_t a5)
{
	if (nargs < 0 || nargs > RT_DEFER_ARGS) {
		if (nargs < 0)
			rt_print("runtime: defer: the argument count said is not the %d given\n", -1 - nargs);
		else
			rt_print("runtime: defer: %d arguments, at most %d\n", nargs, RT_DEFER_ARGS);
		return -1;
	}
	struct rt_defer_frame *f = frame_for(fp[0], (uintptr_t)(fp + 2));
	if (!f)
		return -1;
	struct rt_defer_rec *r = rec_new(f);
	r->args[0] = a0;
	r->args[1] = a1;
	r->args[2] = a2;
	r->args[3] = a3;
	r->args[4] = a4;
	r->args[5] = a5;
	r->fn = fn;
	r->next = f->defers;
	f->defers = r;
	return 0;
}

__attribute__((noinline)) int rt_defer_args(const void *fn, int nargs, uint64_t a0, uint64_t a1,
					    uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	rt_headroom();
	return defer_in(__builtin_frame_address(0), fn, nargs, a0, a1, a2, a3, a4, a5);
}

/* The same for up to four arguments: all in registers, none in the caller's frame. */
__attribute__((noinline)) int rt_defer4(const void *fn, int nargs, uint64_t a0, uint64_t a1, uint64_t a2,
					uint64_t a3)
{
	rt_headroom();
	return defer_in(__builtin_frame_address(0), fn, nargs, a0, a1, a2, a3, 0, 0);
}

/* Declares the calling function's named result: the value it holds after
 * the deferred calls is what the caller receives. Returns 0 or -1. */
__attribute__((noinline)) int rt_defer_result(uint64_t *result)
{
	rt_headroom();
	uintptr_t *fp = __builtin_frame_address(0);
	struct rt_defer_frame *f = frame_for(fp[0], (uintptr_t)(fp + 2));
	if (!f)
		return -1;
	f->result = result;
	return 0;
}

/* Called by rt_recovery_point (panic_switch.S) with its caller's registers. */
void rt_recovery_save(const uint64_t *saved, uint64_t rsp, uint64_t rip)
{
	rt_headroom();
	struct rt_defer_frame *f = frame_for(saved[0], rsp);
	if (!f)
		return;
	f->recovery = (struct rt_recovery){ saved[0], saved[1], saved[2], saved[3], saved[4], saved[5],
					     rsp, rip };
	f->has_recovery = 1;
}

/* Takes the newest deferred call off frame f: its function and arguments. Returns 0 if none. */
int rt_defer_pop(struct rt_defer_frame *f, const void **fn, uint64_t *args)
{
	struct rt_defer_rec *r = f->defers;
	if (!r)
		return 0;
	f->defers = r->next;
	*fn = r->fn;
	for (int i = 0; i < RT_DEFER_ARGS; i++)
		args[i] = r->args[i];
	rec_release(f, r);
	return 1;
}

/*
 * RT_RETURN's out-of-line half, called from F (whose record is f, the
 * innermost) once its return value is evaluated: see the drawing at the
 * top. Returns the named result, if F declared one, for RT_RETURN to put
 * in place of the value when that is an integer or a pointer.
 */
struct rt_defer_returned rt_defer_return(struct rt_defer_frame *f)
{
	rt_headroom();
	/* LAB defer BEGIN: give F its real return address back before the deferred calls run */
	*(uintptr_t *)(f->top.rbp + 8) = f->ret;
	/* LAB defer ELSE
	LAB defer END */
	struct rt_defer_rec *r;
	while ((r = f->defers)) {
		f->defers = r->next;
		rt_call6 fn = (rt_call6)r->fn;
		uint64_t a0 = r->args[0], a1 = r->args[1], a2 = r->args[2], a3 = r->args[3],
			 a4 = r->args[4], a5 = r->args[5];
		rec_release(f, r);
		fn(a0, a1, a2, a3, a4, a5);
	}
	struct rt_defer_returned ret = { f->result ? *f->result : 0, f->result != NULL };
	rt_defer_frames = f->next;
	frame_release(f);
	return ret;
}

/*
 * Where rt_defer_trampoline goes: F (record f) returned by a plain
 * `return`, not RT_RETURN. Stops the task (outside tasks, the program)
 * without running F's deferred calls.
 */
_Noreturn void rt_defer_unreturned(struct rt_defer_frame *f)
{
	char caller[96];
	if (!plat_symbolize(f->ret - 1, caller, sizeof caller))
		ksnprintf(caller, sizeof caller, "%#lx", f->ret);
	rt_print("runtime: a deferring function called from %s returned without RT_RETURN: "
		 "its deferred calls cannot run safely (its frame is gone)\n", caller);
	if (!rt_current())
		rt_fatal("deferring function returned without RT_RETURN");
	rt_kill_self("deferring function returned without RT_RETURN");
}

/*
 * Runs every pending deferred call of the running context, innermost frame
 * first, as Go's Goexit does before a goroutine ends; the functions that
 * deferred them never return, and the caller must end the task next
 * (rt_exit). The calls are plain calls, so a recover in them returns NULL
 * unless a panic of their own is under way. If one panics and a later
 * deferred call recovers, the panic is over and the rest run here (Go's
 * Goexit carries on too): every frame's recovery point becomes this one.
 */
void rt_defer_run_all(void)
{
	struct rt_recovery ctx;
	struct rt_defer_frame *f;
	if (!rt_defer_frames)
		return; /* every task's exit comes here: no headroom needed, no growth */
	rt_headroom();
	(void)rt_context_save(&ctx); /* returns again, with 1, after a recovered panic */
	for (f = rt_defer_frames; f; f = f->next) {
		f->recovery = ctx;
		f->has_recovery = 1;
	}
	const void *fn;
	uint64_t a[RT_DEFER_ARGS];
	while (rt_defer_next(&fn, a))
		((rt_call6)fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
}

/*
 * Takes the running context's innermost pending deferred call off its
 * record, freeing the records of frames whose calls have all run (those
 * functions are unwound: they never return through their frames).
 * Returns 0 when none is left. For panics and Goexit.
 */
int rt_defer_next(const void **fn, uint64_t *args)
{
	struct rt_defer_frame *f;
	while ((f = rt_defer_frames)) {
		if (rt_defer_pop(f, fn, args))
			return 1;
		rt_defer_frames = f->next;
		frame_release(f);
	}
	return 0;
}

/* Deferred calls registered and not yet run, in all frames of the running context. */
uint64_t rt_defer_pending(void)
{
	uint64_t n = 0;
	for (struct rt_defer_frame *f = rt_defer_frames; f; f = f->next)
		for (struct rt_defer_rec *r = f->defers; r; r = r->next)
			n++;
	return n;
}

static int adjust(uint64_t *p, uintptr_t lo, uintptr_t hi, intptr_t delta)
{
	if (*p >= lo && *p <= hi) {
		*p += delta;
		return 1;
	}
	return 0;
}

/*
 * A stack moved from [lo, hi) by delta: frame records follow precisely
 * (frame pointer, the named result, the recovery point's %rsp and %rbp),
 * copied arguments and the other saved registers conservatively. Returns
 * how many words changed.
 * [fault-safe]
 */
uint64_t rt_defers_adjust(struct rt_defer_frame *frames, uintptr_t lo, uintptr_t hi, intptr_t delta)
{
	uint64_t n = 0;
	for (struct rt_defer_frame *f = frames; f; f = f->next) {
		n += adjust((uint64_t *)&f->top.rbp, lo, hi, delta);
		if (f->result)
			n += adjust((uint64_t *)&f->result, lo, hi, delta);
		if (f->has_recovery) { /* rsp and rbp precisely; the other registers may hold anything */
			uint64_t *reg = &f->recovery.rbp;
			for (int i = 0; i < 7; i++)
				n += adjust(&reg[i], lo, hi, delta);
		}
		for (struct rt_defer_rec *r = f->defers; r; r = r->next)
			for (int i = 0; i < RT_DEFER_ARGS; i++)
				n += adjust(&r->args[i], lo, hi, delta);
	}
	return n;
}

/* Frees the records of a task that died with deferred calls pending. */
void rt_defers_drop(struct rt_defer_frame **frames)
{
	struct rt_defer_frame *f;
	while ((f = *frames)) {
		*frames = f->next;
		struct rt_defer_rec *r;
		while ((r = f->defers)) {
			f->defers = r->next;
			rec_release(f, r);
		}
		frame_release(f);
	}
}

/* How many records the cache holds (they count as live heap objects). */
uint64_t rt_defer_cached(void)
{
	return free_frames_n + free_recs_n;
}

/* Gives the cached records back to the heap (for leak checks). */
void rt_defer_trim(void)
{
	while (free_frames) {
		struct rt_defer_frame *f = free_frames;
		free_frames = f->next;
		rt_free(f);
	}
	while (free_recs) {
		struct rt_defer_rec *r = free_recs;
		free_recs = r->next;
		rt_free(r);
	}
	free_frames_n = free_recs_n = 0;
}
