/*
 * defer.c: defer by return-address hijacking (after Go's deferproc and
 * deferreturn in runtime/panic.go, with records like its _defer).
 *
 * rt_defer, called from a deferring function F, finds F's frame through
 * the frame-pointer chain: its own saved %rbp is F's %rbp, and F's return
 * address sits just above that. The first defer in F records that address
 * and overwrites it with rt_defer_trampoline (defer_tramp.S); each defer
 * pushes a record {fn, args copied now} on F's frame record. When F
 * returns, its `ret` enters the trampoline, which calls rt_defer_run on a
 * stack below F's frame: the deferred calls run newest first, then the
 * named result, if F declared one, becomes the return value.
 *
 * Frame records form a per-task list, innermost first (rt_defer_frames
 * for the running task, swapped by the scheduler); records live in the
 * heap and are adjusted when the stack moves (adjustdefers).
 *
 * What breaks hijacking, and the guard against it: a deferring function
 * inlined into its caller or leaving by a sibling call, or built without
 * frame pointers (RT_DEFERS forbids all three); CET shadow stacks (the
 * shadow copy of the return address would not match: the kernel never
 * enables CET, and the Linux port is built with -fcf-protection=none so
 * no shadow stack is enabled for it). rt_defer also checks that the frame
 * it is about to change looks like one.
 */
#include <stdarg.h>

#include "defer.h"
#include "heap.h"
#include "platform.h"
#include "rt.h"

struct rt_defer_rec {
	struct rt_defer_rec *next;
	const void *fn;
	uint64_t args[RT_DEFER_ARGS]; /* evaluated and copied when rt_defer ran */
};

struct rt_defer_frame *rt_defer_frames;
void rt_defer_trampoline(void);

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
static struct rt_defer_frame *frame_new(void)
{
	struct rt_defer_frame *f = free_frames;
	if (!f)
		return rt_alloc(sizeof *f);
	free_frames = f->next;
	free_frames_n--;
	f->result = NULL;
	f->defers = NULL;
	f->count = 0;
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

static struct rt_defer_rec *rec_new(void)
{
	struct rt_defer_rec *r = free_recs;
	if (!r)
		return rt_alloc(sizeof *r);
	free_recs = r->next;
	free_recs_n--;
	return r;
}

static void rec_release(struct rt_defer_rec *r)
{
	if (free_recs_n >= CACHE_MAX) {
		rt_free(r);
		return;
	}
	r->next = free_recs;
	free_recs = r;
	free_recs_n++;
}

/* The record for the frame whose %rbp is f_rbp, hijacking its return on first use. NULL: refused. */
static struct rt_defer_frame *frame_for(uintptr_t f_rbp, uintptr_t f_rsp)
{
	struct rt_defer_frame *f = rt_defer_frames;
	uintptr_t run_sp = (f_rsp - 128) & ~15UL; /* below F's frame and its red zone */
	if (f && f->rbp == f_rbp) {
		if (run_sp < f->run_sp)
			f->run_sp = run_sp;
		return f;
	}
	/* F's frame must be above our caller's stack pointer, and word aligned. */
	if (f_rbp < f_rsp || (f_rbp & 7) || (f && f_rbp > f->rbp)) {
		rt_print("runtime: defer: the caller's frame pointer %#lx is not a frame (missing RT_DEFERS?)\n",
			 f_rbp);
		return NULL;
	}
	f = frame_new();
	if (!f)
		return NULL;
	uintptr_t *ret_slot = (uintptr_t *)f_rbp + 1;
	f->rbp = f_rbp;
	f->run_sp = run_sp;
	f->ret = *ret_slot;
	f->next = rt_defer_frames;
	rt_defer_frames = f;
	*ret_slot = (uintptr_t)rt_defer_trampoline;
	return f;
}

/*
 * Defers fn(args...) until the calling function returns. The nargs
 * (up to RT_DEFER_ARGS) integer or pointer arguments are copied now, as Go
 * evaluates a deferred call's arguments at the defer statement. fn may be
 * a closure. Returns 0, or -1 (with a message) if it could not.
 */
__attribute__((noinline)) int rt_defer(const void *fn, int nargs, ...)
{
	uintptr_t *fp = __builtin_frame_address(0);
	if (nargs < 0 || nargs > RT_DEFER_ARGS) {
		rt_print("runtime: defer: %d arguments, at most %d\n", nargs, RT_DEFER_ARGS);
		return -1;
	}
	struct rt_defer_frame *f = frame_for(fp[0], (uintptr_t)(fp + 2));
	struct rt_defer_rec *r = f ? rec_new() : NULL;
	if (!r)
		return -1;
	va_list ap;
	va_start(ap, nargs);
	for (int i = 0; i < nargs; i++)
		r->args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	r->fn = fn;
	r->next = f->defers;
	f->defers = r;
	f->count++;
	return 0;
}

/* Declares the calling function's named result: the value it holds after
 * the deferred calls is what the caller receives. Returns 0 or -1. */
__attribute__((noinline)) int rt_defer_result(uint64_t *result)
{
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
	f->count--;
	*fn = r->fn;
	for (int i = 0; i < RT_DEFER_ARGS; i++)
		args[i] = r->args[i];
	rec_release(r);
	return 1;
}

struct results {
	uint64_t rax, rdx;
};

/* Called by the trampoline, below F's frame: runs F's deferred calls newest first. */
struct results rt_defer_run(struct rt_defer_frame *f, uint64_t rax, uint64_t rdx)
{
	typedef void (*call6)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
	struct rt_defer_rec *r;
	while ((r = f->defers)) {
		f->defers = r->next;
		((call6)r->fn)(r->args[0], r->args[1], r->args[2], r->args[3], r->args[4], r->args[5]);
		rec_release(r);
	}
	if (f->result)
		rax = *f->result;
	rt_defer_frames = f->next;
	frame_release(f);
	return (struct results){ rax, rdx };
}

/* Deferred calls registered and not yet run, in all frames of the running context. */
uint64_t rt_defer_pending(void)
{
	uint64_t n = 0;
	for (struct rt_defer_frame *f = rt_defer_frames; f; f = f->next)
		n += f->count;
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
 * (frame pointer, run_sp, the named result), copied arguments
 * conservatively. Returns how many words changed. [fault-safe]
 */
uint64_t rt_defers_adjust(struct rt_defer_frame *frames, uintptr_t lo, uintptr_t hi, intptr_t delta)
{
	uint64_t n = 0;
	for (struct rt_defer_frame *f = frames; f; f = f->next) {
		n += adjust((uint64_t *)&f->rbp, lo, hi, delta);
		n += adjust((uint64_t *)&f->run_sp, lo, hi, delta);
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
			rec_release(r);
		}
		frame_release(f);
	}
}

/* Frees a frame record whose function was unwound by a panic. */
void rt_defer_frame_free(struct rt_defer_frame *f)
{
	frame_release(f);
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
