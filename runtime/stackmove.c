/*
 * stackmove.c: moving a task's stack, after Go's copystack and its adjust
 * steps (adjustframe, adjustctxt, adjustsudogs, adjustdefers, adjustpanics).
 *
 *   old stack                         new stack (twice or half the size)
 *   lo-GUARD   lo      from        hi    nlo              nfrom        nhi
 *   |  guard   |  free  |  in use   |     |   free          |  in use   |
 *                       '-----------'---- copied ---------->'-----------'
 *                          delta = nhi - hi: the same offset from the top
 *
 * Invariants (task.c says when a move may happen at all):
 *   1. The task is either the one whose fault is being handled (its
 *      context is *regs) or not running (its context is t->ctx). Nothing
 *      else holds an address in its stack but the records adjusted here.
 *   2. What is the task's own is [lo - GUARD, hi]: its stack and its guard
 *      (the next stack's guard starts at hi). Only values in that range
 *      are adjusted, never a pointer into another task's stack. Registers
 *      and records are looked at one by one (precise); the words of the
 *      stack are taken for pointers when their value is in the range
 *      (conservative: C has no stack maps; stack.c's windows keep ordinary
 *      data out of the range).
 *   3. The one value outside the range that belongs to the task, the end
 *      address a stack-clash probe loop counts down to, is decoded and
 *      adjusted by stackfault.c.
 *   4. Nothing here allocates, takes a lock or touches anything but the two
 *      stacks, the task's records and the ring of recent moves (a fixed
 *      array, for debuggers): it runs in the fault handler.
 */
#include "closure.h"
#include "defer.h"
#include "format.h"
#include "internal.h"
#include "panic.h"
#include "platform.h"
#include "rt.h"

struct move {
	uintptr_t lo, hi;   /* what is the task's own: [lo, hi], the guard included */
	intptr_t delta;
	uint64_t adjusted;
};

/* The one helper every adjust step uses. */
static void adjust_word(uint64_t *w, struct move *m)
{
	/* LAB adjust BEGIN: if *w points into [m->lo, m->hi], move it by m->delta and count it */
	if (*w - m->lo <= m->hi - m->lo) {
		*w += m->delta;
		m->adjusted++;
	}
	/* LAB adjust ELSE
	(void)w, (void)m;
	LAB adjust END */
}

/* The used part of the stack, copied and adjusted in one pass (adjustframe). */
static void copy_stack(uintptr_t from, uintptr_t hi, struct move *m)
{
	m->adjusted += rt_scan_copy((const uint64_t *)from, (const uint64_t *)hi, m->delta, m->lo,
				    m->hi);
}

/* The used part, its pages already moved to [from + delta, hi + delta) by
 * the platform: adjusted where it now is, nothing copied. */
static void adjust_in_place(uintptr_t from, uintptr_t hi, struct move *m)
{
	m->adjusted += rt_scan_adjust((uint64_t *)from, (const uint64_t *)hi, m->delta, m->lo, m->hi);
}

/*
 * A growth whose used part is at least plat_remap_min bytes moves its pages
 * instead of copying them (plat_move_pages): the new stack's lower part
 * is committed fresh, the used pages change address, and only the words
 * that point into the stack are written.
 *
 *   old:  lo |   free   |pg  in use   | hi
 *                        '---- pages moved, not copied ----.
 *   new:  nlo |      committed fresh        |pg  in use   | nhi
 *
 * dirty: the old stack's lowest written word (below it, the pages left
 * behind are still zero and need no clearing). Returns the new stack's
 * low end, or 0 if the platform could not (the caller copies instead).
 */
static uintptr_t remap_grow(uintptr_t lo, uintptr_t hi, uintptr_t from, size_t new_size,
			    uintptr_t dirty)
{
	uintptr_t page = from & ~(PLAT_PAGE - 1), moved = hi - page;
	uintptr_t nlo = rt_stack_va_alloc(new_size), nhi = nlo + new_size;
	if (!nlo || plat_commit(nlo, new_size - moved) != 0)
		return 0;
	if (plat_move_pages(lo, hi - lo, page, nhi - moved) != 0) {
		plat_decommit(nlo, new_size - moved, nlo + new_size - moved); /* untouched */
		return 0;
	}
	if (page > lo)
		plat_decommit(lo, page - lo, dirty);
	rt_stack_committed += new_size - (hi - lo);
	return nlo;
}

/* The faulting context: general registers and vector lanes, one by one. */
static void adjust_registers(struct rt_regs *regs, struct move *m)
{
	/* LAB adjust BEGIN: every general register (rax to r15, in struct rt_regs order) and every vector lane */
	uint64_t *r = &regs->rax;
	for (int i = 0; i < 16; i++)
		adjust_word(&r[i], m);
	for (unsigned i = 0; i < regs->nlanes; i++)
		adjust_word(regs->lanes[i], m);
	/* LAB adjust ELSE
	(void)regs, (void)m;
	LAB adjust END */
}

/* A task that is not running: its saved context (adjustctxt). */
static void adjust_context(struct rt_context *ctx, struct move *m)
{
	uint64_t *w = &ctx->rsp;
	for (unsigned i = 0; i < sizeof *ctx / sizeof *w; i++)
		adjust_word(&w[i], m);
}

/* A task parked on a channel: its element, usually in its stack (adjustsudogs). */
static void adjust_waiting(struct rt_task *t, struct move *m)
{
	uint64_t w = (uint64_t)t->wait_elem;
	adjust_word(&w, m);
	t->wait_elem = (void *)w;
}

/* The defer records: frame pointers, results, arguments (adjustdefers). */
static void adjust_defers(struct rt_task *t, struct move *m)
{
	struct rt_defer_frame *frames = t == rt_current() ? rt_defer_frames : t->defer_frames;
	m->adjusted += rt_defers_adjust(frames, m->lo, m->hi, m->delta);
}

/* The chain of panics under way lives in the stack; the task points at the newest (adjustpanics). */
static void adjust_panics(struct rt_task *t, struct move *m)
{
	uint64_t w = (uint64_t)t->panic;
	adjust_word(&w, m);
	t->panic = (struct rt_panic *)w;
}

/* Closure environments that live in the stack. */
static void adjust_closures(struct move *m)
{
	m->adjusted += rt_closures_adjust(m->lo, m->hi, m->delta);
}

/* Counts the frames of the frame-pointer chain starting at rbp inside [lo, hi). */
static uint64_t count_frames(uintptr_t rbp, uintptr_t lo, uintptr_t hi)
{
	uint64_t n = 0;
	while (rbp >= lo && rbp + 16 <= hi && !(rbp & 7)) {
		uintptr_t next = *(const uintptr_t *)rbp;
		n++;
		if (next <= rbp)
			break;
		rbp = next;
	}
	return n;
}

static void print_move(struct rt_task *t, const char *verb, uintptr_t lo, uintptr_t hi, uintptr_t nlo,
		       uintptr_t nhi, bool remapped, uint64_t bytes, uint64_t adjusted)
{
	rt_print("stack: task %lu %s [%#lx, %#lx) -> [%#lx, %#lx) (%lu -> %lu KiB), %s %lu bytes, "
		 "adjusted %lu words\n",
		 t->id, verb, lo, hi, nlo, nhi, (hi - lo) >> 10, (nhi - nlo) >> 10,
		 remapped ? "remapped" : "copied", bytes, adjusted);
}

struct rt_move_record rt_move_ring[RT_MOVE_RING];
uint64_t rt_moves_recorded;

/* Notes a finished move in the ring (internal.h): stores only. [fault-safe] */
static void record_move(struct rt_task *t, enum rt_move_kind kind, bool remapped, uintptr_t lo,
			uintptr_t hi, uintptr_t nlo, uintptr_t nhi, uint64_t used, uint64_t adjusted,
			uintptr_t rip)
{
	struct rt_move_record *r = &rt_move_ring[rt_moves_recorded % RT_MOVE_RING];
	*r = (struct rt_move_record){ rt_moves_recorded + 1, t->id, kind, remapped, lo, hi, nlo, nhi,
				      used, adjusted, rip };
	rt_moves_recorded++;
}

/* Every adjust step but the stack's own words, for a task that is not running. */
static void adjust_records(struct rt_task *t, struct move *m)
{
	adjust_context(&t->ctx, m);
	adjust_waiting(t, m);
	adjust_defers(t, m);
	adjust_panics(t, m);
	adjust_closures(m);
}

/*
 * Hibernation: a parked task's used bytes leave its stack for an image
 * (stack.c's image area), its stack goes back, and it takes no more than
 * its image while it sleeps. Waking moves them back into a stack of the
 * size it had. Both are moves like any other: the task is not running
 * (task.c's invariant 1), and every word that points into the range it
 * leaves is adjusted, in the bytes and in its records.
 *
 *   stack   lo |    free    |  used  | hi       (hi: 64 KiB aligned)
 *                            '--------'
 *   image             img |  used  | img_hi    (img_hi: 256-byte aligned;
 *                                               a move changes a word by a
 *                                               multiple of 256 here)
 *
 * Returns false, changing nothing, if the used part is too large for an
 * image or no image memory is left. On the runtime or host stack.
 */
bool rt_stack_hibernate(struct rt_task *t)
{
	uintptr_t lo = t->stack_lo, hi = t->stack_hi, from = t->ctx.rsp & ~7UL;
	if (!lo || from < lo || from > hi || t->state != RT_PARKED)
		return false;
	size_t bytes = (hi - from + RT_IMAGE_ALIGN - 1) & ~(RT_IMAGE_ALIGN - 1);
	uintptr_t img = rt_image_alloc(bytes);
	if (!img)
		return false;
	rt_stack_high_water(t); /* sets t->stack_dirty */
	uintptr_t dirty = t->stack_dirty;
	struct move m = { lo - RT_STACK_GUARD, hi, (intptr_t)(img + bytes - hi), 0 };
	copy_stack(from, hi, &m);
	adjust_records(t, &m);
	t->image = img;
	t->image_bytes = bytes;
	t->image_stack_size = hi - lo;
	t->stack_lo = t->stack_hi = 0;
	rt_stack_put(lo, hi - lo, dirty);
	rt_stack_retire(t, lo, hi, img, img + bytes, false);
	t->stats.hibernations++;
	t->stats.pointers_adjusted += m.adjusted;
	record_move(t, RT_MOVE_HIBERNATE, false, lo, hi, img, img + bytes, hi - from, m.adjusted, 0);
	if (rt_trace_moves)
		rt_print("stack: task %lu hibernated [%#lx, %#lx) -> image [%#lx, %#lx), %lu bytes, "
			 "adjusted %lu words\n", t->id, lo, hi, img, img + bytes, hi - from, m.adjusted);
	return true;
}

/* Gives a hibernated task a stack again (before it runs). False if out of memory. */
bool rt_stack_wake(struct rt_task *t)
{
	size_t size = t->image_stack_size;
	uintptr_t img = t->image, img_hi = img + t->image_bytes, from = t->ctx.rsp & ~7UL;
	uintptr_t nlo = rt_stack_get(size);
	if (!nlo)
		return false;
	uintptr_t nhi = nlo + size;
	struct move m = { img, img_hi, (intptr_t)(nhi - img_hi), 0 };
	copy_stack(from, img_hi, &m);
	adjust_records(t, &m);
	t->stack_lo = nlo;
	t->stack_hi = nhi;
	rt_image_free(img, t->image_bytes);
	t->image = 0;
	t->image_bytes = 0;
	t->stats.pointers_adjusted += m.adjusted;
	record_move(t, RT_MOVE_WAKE, false, img, img_hi, nlo, nhi, img_hi - from, m.adjusted, 0);
	if (rt_trace_moves)
		rt_print("stack: task %lu woke: image [%#lx, %#lx) -> [%#lx, %#lx), adjusted %lu words\n",
			 t->id, img, img_hi, nlo, nhi, m.adjusted);
	return true;
}

/*
 * Moves t's stack to a fresh one of new_size bytes. used_from is the lowest
 * address in use (the faulting %rsp less the red zone, or the saved %rsp);
 * regs is the faulting context, or NULL for a task that is not running.
 * Returns false, changing nothing, if out of memory.
 * [fault-safe]
 */
bool rt_stack_move(struct rt_task *t, size_t new_size, uintptr_t used_from, struct rt_regs *regs,
		   bool grow)
{
	uint64_t t0 = plat_now_ns();
	uintptr_t lo = t->stack_lo, hi = t->stack_hi;
	uintptr_t from = (used_from < lo ? lo : used_from) & ~7UL;
	/* The most this stack held, before it goes (a growth: at once, the
	 * stack is full; any other move: its unused part is read once). */
	rt_stack_high_water(t); /* sets t->stack_dirty */
	uintptr_t dirty = t->stack_dirty;
	uintptr_t nlo = grow && hi - from >= plat_remap_min ? remap_grow(lo, hi, from, new_size, dirty)
							  : 0;
	bool remapped = nlo != 0;
	if (!remapped)
		nlo = rt_stack_get(new_size);
	if (!nlo)
		return false;
	uintptr_t nhi = nlo + new_size;
	struct move m = { lo - RT_STACK_GUARD, hi, (intptr_t)(nhi - hi), 0 };

	if (remapped)
		adjust_in_place(from + m.delta, nhi, &m);
	else
		copy_stack(from, hi, &m);
	if (regs)
		adjust_registers(regs, &m);
	else
		adjust_context(&t->ctx, &m);
	adjust_waiting(t, &m);
	adjust_defers(t, &m);
	adjust_panics(t, &m);
	adjust_closures(&m);

	t->stack_lo = nlo;
	t->stack_hi = nhi;
	if (!remapped)
		rt_stack_put(lo, hi - lo, dirty);
	rt_stack_retire(t, lo, hi, nlo, nhi, grow);
	if (grow)
		t->stats.grows++;
	else
		t->stats.shrinks++;
	if (remapped)
		t->stats.bytes_remapped += hi - from;
	else
		t->stats.bytes_copied += hi - from;
	t->stats.pointers_adjusted += m.adjusted;
	t->stats.move_ns += plat_now_ns() - t0;
	record_move(t, grow ? RT_MOVE_GROW : RT_MOVE_SHRINK, remapped, lo, hi, nlo, nhi, hi - from,
		    m.adjusted, regs ? regs->rip : 0);
	if (rt_trace_moves) {
		print_move(t, grow ? "grew" : "shrank", lo, hi, nlo, nhi, remapped, hi - from, m.adjusted);
		char sym[96] = "?";
		if (regs)
			plat_symbolize(regs->rip, sym, sizeof sym);
		uint64_t frames = count_frames(regs ? regs->rbp : t->ctx.rbp, nlo, nhi);
		rt_print("stack: task %lu frame chain after the move: %lu frame%s%s%s\n", t->id, frames,
			 plural(frames), regs ? "; faulted at " : "", regs ? sym : "");
	}
	return true;
}
