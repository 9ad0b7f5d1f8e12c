/*
 * defer.c: defer by return-address hijacking (after Go's deferproc and
 * deferreturn in runtime/panic.go, with records like its _defer).
 *
 * rt_defer, called from a deferring function F, finds F's frame through
 * the frame-pointer chain: its own saved %rbp is F's %rbp, and F's return
 * address sits just above that. The first defer in F records that address
 * and overwrites it with rt_defer_trampoline (defer_tramp.S); each defer
 * pushes a record {fn, args copied now} on F's frame record. When F
 * returns, its `ret` enters the trampoline, which keeps F's result
 * registers in the frame record and calls rt_defer_run on a stack below
 * F's frame: the deferred calls run newest first, then the named result,
 * if F declared one, becomes the return value, and the trampoline returns
 * to F's caller with every result register as F left it.
 *
 * Where the deferred calls run (run_sp). F's frame is gone when its `ret`
 * enters the trampoline, but its memory is intact, and deferred calls may
 * read it (closures over F's locals), so they must run below all of it:
 *
 *     F's return address  <- rt_defer_trampoline
 *     F's saved %rbp      <- F's %rbp
 *     F's locals
 *     alloca / VLA memory made before the first rt_defer
 *     ... %rsp when rt_defer ran
 *     alloca / VLA memory made after it      <- overwritten, before this fix
 *     %rsp at RT_RETURN
 *     128 bytes (the red zone)
 *     run_sp: the trampoline's frame, then the deferred calls
 *
 * run_sp is the lowest of (%rsp - 128) seen by rt_defer, rt_defer_result,
 * rt_recovery_point and RT_RETURN, the last one being the lowest point F
 * reached with anything still live (alloca memory lives until the return;
 * a VLA whose block ended is dead in C too). We chose recording at return
 * over detecting: a check can only tell that memory below rt_defer's %rsp
 * was used (by any call F made, too), not that it is still needed.
 * RT_RETURN is already required (see defer.h) and is inline, and it marks
 * the frame `returning`: a deferring function that returns some other way
 * is stopped with an error before any of its deferred calls runs, since
 * its lowest point is unknown, rather than risk overwriting its memory
 * silently.
 *
 * Frame records form a per-task list, innermost first (rt_defer_frames
 * for the running task, swapped by the scheduler); records live in the
 * heap and are adjusted when the stack moves (adjustdefers).
 *
 * Out of memory: a record that cannot be allocated stops the task with
 * "out of memory in defer" (outside tasks, the program), as Go throws: a
 * deferred call is never dropped, and never runs out of order.
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
#include <stddef.h>

#include "defer.h"
#include "internal.h"
#include "heap.h"
#include "platform.h"
#include "rt.h"

#include "format.h"

struct rt_defer_rec {
	struct rt_defer_rec *next;
	const void *fn;
	uint64_t args[RT_DEFER_ARGS]; /* evaluated and copied when rt_defer ran */
};

struct rt_defer_frame *rt_defer_frames;
_Noreturn void rt_kill_self(const char *reason);
int rt_context_save(struct rt_recovery *ctx) __attribute__((returns_twice));

/* defer_tramp.S reads and writes frame records by these offsets. */
_Static_assert(offsetof(struct rt_defer_frame, top) == 0, "RT_RETURN reads the record as a struct rt_defer_top");
_Static_assert(offsetof(struct rt_defer_frame, top.run_sp) == RT_DF_RUN_SP, "RT_DF_RUN_SP");
_Static_assert(offsetof(struct rt_defer_frame, ret) == RT_DF_RET, "RT_DF_RET");
_Static_assert(offsetof(struct rt_defer_frame, res) == RT_DF_RES, "RT_DF_RES");
_Static_assert(offsetof(struct rt_defer_results, rax) == RT_DR_RAX, "RT_DR_RAX");
_Static_assert(offsetof(struct rt_defer_results, rdx) == RT_DR_RDX, "RT_DR_RDX");
_Static_assert(offsetof(struct rt_defer_results, xmm0) == RT_DR_XMM0, "RT_DR_XMM0");
_Static_assert(offsetof(struct rt_defer_results, xmm1) == RT_DR_XMM1, "RT_DR_XMM1");
_Static_assert(offsetof(struct rt_defer_results, st) == RT_DR_ST0, "RT_DR_ST0");
_Static_assert(offsetof(struct rt_defer_results, st[1]) == RT_DR_ST1, "RT_DR_ST1");
_Static_assert(offsetof(struct rt_defer_results, nst) == RT_DR_NST, "RT_DR_NST");

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
static struct rt_defer_frame *frame_new(void)
{
	struct rt_defer_frame *f = free_frames;
	if (!f) {
		f = rt_alloc(sizeof *f);
		if (!f)
			out_of_memory("a frame record");
		return f;
	}
	free_frames = f->next;
	free_frames_n--;
	f->result = NULL;
	f->defers = NULL;
	f->count = 0;
	f->has_recovery = 0;
	f->top.returning = 0;
	f->res.rax = f->res.rdx = 0;
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
	if (f && f->top.rbp == f_rbp) {
		if (run_sp < f->top.run_sp)
			f->top.run_sp = run_sp;
		return f;
	}
	/* F's frame must be above our caller's stack pointer, and word aligned. */
	if (f_rbp < f_rsp || (f_rbp & 7) || (f && f_rbp > f->top.rbp)) {
		rt_print("runtime: defer: the caller's frame pointer %#lx is not a frame (missing RT_DEFERS?)\n",
			 f_rbp);
		return NULL;
	}
	f = frame_new();
	uintptr_t *ret_slot = (uintptr_t *)f_rbp + 1;
	f->top.rbp = f_rbp;
	f->top.run_sp = run_sp;
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
 * a closure. Returns 0, or -1 (with a message) for a call it refuses (too
 * many arguments, a caller that is not a deferring frame); out of memory
 * stops the task instead.
 */
__attribute__((noinline)) int rt_defer(const void *fn, int nargs, ...)
{
	rt_headroom();
	uintptr_t *fp = __builtin_frame_address(0);
	if (nargs < 0 || nargs > RT_DEFER_ARGS) {
		rt_print("runtime: defer: %d arguments, at most %d\n", nargs, RT_DEFER_ARGS);
		return -1;
	}
	struct rt_defer_frame *f = frame_for(fp[0], (uintptr_t)(fp + 2));
	if (!f)
		return -1;
	struct rt_defer_rec *r = rec_new();
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
	f->count--;
	*fn = r->fn;
	for (int i = 0; i < RT_DEFER_ARGS; i++)
		args[i] = r->args[i];
	rec_release(r);
	return 1;
}

/*
 * The frame record rt_defer_run last finished: the trampoline still reads
 * F's results from it after rt_defer_run returns, so it goes back to the
 * cache at the next rt_defer_run (or rt_defer_trim), not at once.
 */
static struct rt_defer_frame *retired;

typedef void (*call6)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

/*
 * Called by the trampoline, below F's frame, with F's results saved in
 * f->res: runs F's deferred calls newest first, stores the named result in
 * f->res.rax, and returns f, now off the list, for the trampoline to
 * reload the results from. Each record is taken off before its call, so a
 * deferred call that panics (and is recovered above F) leaks nothing and
 * never runs twice.
 */
struct rt_defer_frame *rt_defer_run(struct rt_defer_frame *f)
{
	rt_headroom();
	if (!f->top.returning) {
		char caller[96];
		if (!plat_symbolize(f->ret - 1, caller, sizeof caller))
			ksnprintf(caller, sizeof caller, "%#lx", f->ret);
		rt_print("runtime: a deferring function called from %s returned without RT_RETURN: "
			 "its lowest stack point is unknown, so its deferred calls cannot run safely\n",
			 caller);
		if (!rt_current())
			rt_fatal("deferring function returned without RT_RETURN");
		rt_kill_self("deferring function returned without RT_RETURN");
	}
	const void *fn;
	uint64_t a[RT_DEFER_ARGS];
	while (rt_defer_pop(f, &fn, a))
		((call6)fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
	if (f->result)
		f->res.rax = *f->result;
	rt_defer_frames = f->next;
	if (retired)
		frame_release(retired);
	retired = f;
	return f;
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
		((call6)fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
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
 * (frame pointer, run_sp, the named result), copied arguments and the
 * integer results the trampoline keeps conservatively; floating-point
 * results never (they are not addresses). Returns how many words changed.
 * [fault-safe]
 */
uint64_t rt_defers_adjust(struct rt_defer_frame *frames, uintptr_t lo, uintptr_t hi, intptr_t delta)
{
	uint64_t n = 0;
	for (struct rt_defer_frame *f = frames; f; f = f->next) {
		n += adjust((uint64_t *)&f->top.rbp, lo, hi, delta);
		n += adjust((uint64_t *)&f->top.run_sp, lo, hi, delta);
		n += adjust(&f->res.rax, lo, hi, delta);
		n += adjust(&f->res.rdx, lo, hi, delta);
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

/* How many records the cache holds (they count as live heap objects). */
uint64_t rt_defer_cached(void)
{
	return free_frames_n + free_recs_n + (retired != NULL);
}

/* Gives the cached records back to the heap (for leak checks). */
void rt_defer_trim(void)
{
	if (retired) {
		rt_free(retired);
		retired = NULL;
	}
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
