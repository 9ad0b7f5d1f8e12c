/*
 * stack.c: contiguous growable stacks, Go style, triggered by a page fault.
 *
 * Invariants (compare Go's runtime/stack.go):
 *   - Every task stack is [lo, hi), mapped, with RT_STACK_GUARD bytes of
 *     unmapped address space below lo. Code compiled with
 *     -fstack-clash-protection touches every page on the way down, so
 *     running out of stack always faults inside that guard first.
 *   - Stack addresses come from one region reserved at start, handed out
 *     upwards and never reused: a pointer into a stack that moved or died
 *     faults instead of reading someone else's data, and we can say whose
 *     stack it was (see the retired list).
 *   - Stacks are powers of two from RT_STACK_MIN (one page) to the limit.
 *
 *   stack region (grows up) ------------------------------------------>
 *   | guard | stack of task 1 | guard | stack of task 2 | guard | ...
 *           lo               hi
 *
 * Growing (rt_fault -> grow) runs on the fault handler's own stack (the
 * #PF IST stack in the kernel, the signal stack on Linux): it maps a stack
 * twice as large at fresh addresses, copies the used part, and adjusts
 * every pointer into the old stack: the saved registers of the faulting
 * context precisely, and every word of the used part conservatively (a
 * value inside the old stack's range is taken for a pointer; Go has stack
 * maps and is precise, C has none). Then it unmaps the old stack and the
 * faulting instruction runs again, now with room.
 *
 * Shrinking (rt_stack_maybe_shrink) halves the stack of a task that stops
 * using less than a quarter of it, the same way, while it is not running.
 */
#include "closure.h"
#include "defer.h"
#include "panic.h"
#include "platform.h"
#include "rt.h"

#include "format.h"
#include "kstring.h"

/* The System V ABI lets a leaf function keep data in the 128 bytes below
 * %rsp without moving it; a faulting context's live data may start there. */
#define RED_ZONE 128

uint64_t rt_stack_limit = RT_STACK_LIMIT_DEFAULT;
bool rt_trace_moves;

int rt_set_stack_limit(uint64_t bytes)
{
	if (bytes < RT_STACK_LIMIT_MIN || bytes > RT_STACK_LIMIT_MAX)
		return -1;
	rt_stack_limit = bytes;
	return 0;
}

static uintptr_t region_lo, region_hi, region_next;
static uint64_t committed;

/* Stacks that moved or died, for the stale-pointer report: a ring, oldest overwritten. */
#define RETIRED_MAX 16384
static struct retired {
	uintptr_t lo, hi;        /* the old stack */
	uintptr_t new_lo, new_hi; /* where it moved; 0 when its task exited */
	uint64_t task;
	uint64_t move;           /* the task's grows + shrinks at that move */
	bool grew;
} retired[RETIRED_MAX];
static uint64_t retired_count;

static void retire(struct rt_task *t, uintptr_t lo, uintptr_t hi, uintptr_t new_lo, uintptr_t new_hi,
		   bool grew)
{
	retired[retired_count++ % RETIRED_MAX] = (struct retired){
		lo, hi, new_lo, new_hi, t->id, t->stats.grows + t->stats.shrinks, grew
	};
}

static const struct retired *find_retired(uintptr_t addr)
{
	uint64_t n = retired_count < RETIRED_MAX ? retired_count : RETIRED_MAX;
	for (uint64_t i = 0; i < n; i++) {
		const struct retired *r = &retired[(retired_count - 1 - i) % RETIRED_MAX];
		if (addr >= r->lo && addr < r->hi)
			return r;
	}
	return NULL;
}

/* Hands out [lo, lo+size) with a guard below it, from addresses never used before. */
static uintptr_t va_alloc(size_t size)
{
	if (!region_lo) {
		region_lo = plat_stack_region(RT_STACK_REGION);
		if (!region_lo)
			return 0;
		region_hi = region_lo + RT_STACK_REGION;
		region_next = region_lo;
	}
	uintptr_t lo = region_next + RT_STACK_GUARD;
	if (lo + size > region_hi || lo + size < lo)
		return 0;
	region_next = lo + size;
	return lo;
}

/* Gives task t a fresh stack of size bytes. Returns false if out of memory or addresses. */
bool rt_stack_alloc(struct rt_task *t, size_t size)
{
	uintptr_t lo = va_alloc(size);
	if (!lo || plat_commit(lo, size) != 0)
		return false;
	committed += size;
	t->stack_lo = lo;
	t->stack_hi = lo + size;
	return true;
}

/*
 * Updates and returns the most bytes t's stack has held. Stack pages are
 * zero when mapped, so the lowest non-zero word marks the deepest write
 * since the last move (a move records what it saw). Not for a running task.
 */
uint64_t rt_stack_high_water(struct rt_task *t)
{
	if (!t->stack_lo)
		return t->stats.high_water;
	const uint64_t *p = (const uint64_t *)t->stack_lo, *end = (const uint64_t *)t->stack_hi;
	while (p < end && *p == 0)
		p++;
	uint64_t used = t->stack_hi - (uintptr_t)p;
	if (used > t->stats.high_water)
		t->stats.high_water = used;
	return t->stats.high_water;
}

/* Unmaps the stack of a finished task; its addresses stay reserved forever. */
void rt_stack_free(struct rt_task *t)
{
	if (!t->stack_lo)
		return;
	rt_stack_high_water(t);
	plat_decommit(t->stack_lo, t->stack_hi - t->stack_lo);
	committed -= t->stack_hi - t->stack_lo;
	retire(t, t->stack_lo, t->stack_hi, 0, 0, false);
	t->stack_lo = t->stack_hi = 0;
}

/*
 * Copies the words of [from, hi) to [from+delta, hi+delta) and adjusts
 * every word whose value lies in [slot_lo, hi] by delta, in one pass.
 * Returns how many words it adjusted. The conservative half of moving.
 */
static uint64_t copy_and_adjust(uintptr_t from, uintptr_t hi, intptr_t delta, uintptr_t slot_lo)
{
	const uint64_t *src = (const uint64_t *)from, *end = (const uint64_t *)hi;
	uint64_t *dst = (uint64_t *)(from + delta), n = 0, span = hi - slot_lo;
	for (; src < end; src++, dst++) {
		uint64_t v = *src;
		if (v - slot_lo <= span) {
			v += delta;
			n++;
		}
		*dst = v;
	}
	return n;
}

/* Adjusts one register if it points into the old stack or below it, within the limit. */
static int adjust_reg(uint64_t *r, uintptr_t lo_bound, uintptr_t hi, intptr_t delta)
{
	if (*r >= lo_bound && *r <= hi) {
		*r += delta;
		return 1;
	}
	return 0;
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

static void print_move(struct rt_task *t, const char *verb, uintptr_t lo, uintptr_t hi,
		       uintptr_t nlo, uintptr_t nhi, uint64_t copied, uint64_t adjusted, uint64_t regs)
{
	rt_print("stack: task %lu %s [%#lx, %#lx) -> [%#lx, %#lx) (%lu -> %lu KiB), copied %lu bytes, "
		 "adjusted %lu pointers + %lu registers\n",
		 t->id, verb, lo, hi, nlo, nhi, (hi - lo) >> 10, (nhi - nlo) >> 10, copied, adjusted, regs);
}

/*
 * Moves t's stack to a fresh one of new_size bytes. used_from is the lowest
 * address in use (the faulting %rsp, or saved_rsp). Adjusts regs (may be
 * NULL) and the runtime's own records. Returns false if out of memory.
 */
static bool move_stack(struct rt_task *t, size_t new_size, uintptr_t used_from, struct rt_regs *regs,
		       bool grow)
{
	uint64_t t0 = plat_now_ns();
	uintptr_t lo = t->stack_lo, hi = t->stack_hi;
	uintptr_t nlo = va_alloc(new_size);
	if (!nlo || plat_commit(nlo, new_size) != 0)
		return false;
	committed += new_size;
	uintptr_t nhi = nlo + new_size;
	intptr_t delta = (intptr_t)(nhi - hi);
	uintptr_t from = (used_from < lo ? lo : used_from) & ~7UL;
	uint64_t adjusted = copy_and_adjust(from, hi, delta, lo - RT_STACK_GUARD), nregs = 0;

	/* Registers: precise, and wider: the stack-clash probe loop keeps its
	 * end address (below the guard) in a register. */
	if (regs) {
		uintptr_t reg_lo = hi > rt_stack_limit ? hi - rt_stack_limit : 0;
		uint64_t *r = &regs->rax;
		for (int i = 0; i < 16; i++)
			nregs += adjust_reg(&r[i], reg_lo, hi, delta);
	}
	/* The runtime's records that may point into the stack (adjustsudogs, adjustctxt). */
	uint64_t rec = t->saved_rsp;
	if (adjust_reg(&rec, lo - RT_STACK_GUARD, hi, delta))
		t->saved_rsp = rec;
	rec = (uint64_t)t->wait_elem;
	if (adjust_reg(&rec, lo - RT_STACK_GUARD, hi, delta))
		t->wait_elem = (void *)rec;
	adjusted += rt_closures_adjust(lo - RT_STACK_GUARD, hi, delta);
	adjusted += rt_defers_adjust(t == rt_current() ? rt_defer_frames : t->defer_frames,
				     lo - RT_STACK_GUARD, hi, delta);
	rec = (uint64_t)t->panic;
	if (adjust_reg(&rec, lo - RT_STACK_GUARD, hi, delta))
		t->panic = (struct rt_panic *)rec;

	t->stack_lo = nlo;
	t->stack_hi = nhi;
	plat_decommit(lo, hi - lo);
	committed -= hi - lo;
	retire(t, lo, hi, nlo, nhi, grow);
	if (grow)
		t->stats.grows++;
	else
		t->stats.shrinks++;
	t->stats.bytes_copied += hi - from;
	t->stats.pointers_adjusted += adjusted + nregs;
	t->stats.move_ns += plat_now_ns() - t0;
	if (rt_trace_moves) {
		print_move(t, grow ? "grew" : "shrank", lo, hi, nlo, nhi, hi - from, adjusted, nregs);
		if (regs)
			rt_print("stack: task %lu frame chain after the move: %lu frames\n", t->id,
				 count_frames(regs->rbp, nlo, nhi));
	}
	return true;
}

/* Halves the stack of a task that is not running if it uses under a quarter of it. */
void rt_stack_maybe_shrink(struct rt_task *t)
{
	size_t size = t->stack_hi - t->stack_lo, used = t->stack_hi - t->saved_rsp;
	if (t->state == RT_DONE || size <= RT_STACK_MIN || used >= size / 4)
		return;
	rt_stack_high_water(t);
	move_stack(t, size / 2, t->saved_rsp, NULL, false); /* out of memory: keep the big one */
}

/* Describes addr if it is in a task stack, a guard or an old stack. */
bool rt_stack_describe(uintptr_t addr, char *buf, size_t cap)
{
	for (struct rt_task *t = rt_tasks(); t; t = t->all_next) {
		if (t->state == RT_DONE || !t->stack_lo)
			continue;
		if (addr >= t->stack_lo && addr < t->stack_hi) {
			ksnprintf(buf, cap, "in task %lu's stack [%#lx, %#lx)", t->id, t->stack_lo, t->stack_hi);
			return true;
		}
		if (addr >= t->stack_lo - RT_STACK_GUARD && addr < t->stack_lo) {
			ksnprintf(buf, cap, "in the guard below task %lu's stack [%#lx, %#lx)", t->id,
				  t->stack_lo, t->stack_hi);
			return true;
		}
	}
	const struct retired *r = find_retired(addr);
	if (!r)
		return false;
	struct rt_task *t = rt_task_by_id(r->task);
	if (r->new_lo && t && t->state != RT_DONE && t->stack_lo)
		ksnprintf(buf, cap,
			  "in task %lu's old stack [%#lx, %#lx), which %s moved to [%#lx, %#lx) "
			  "(move %lu); the task's stack is now [%#lx, %#lx)",
			  r->task, r->lo, r->hi, r->grew ? "growth" : "shrinking", r->new_lo, r->new_hi,
			  r->move + 1, t->stack_lo, t->stack_hi);
	else if (r->new_lo)
		ksnprintf(buf, cap, "in task %lu's old stack [%#lx, %#lx), which %s moved to [%#lx, %#lx); "
			  "the task has exited since", r->task, r->lo, r->hi,
			  r->grew ? "growth" : "shrinking", r->new_lo, r->new_hi);
	else
		ksnprintf(buf, cap, "in the stack [%#lx, %#lx) of task %lu, which has exited", r->lo, r->hi,
			  r->task);
	return true;
}

void rt_kill_current(struct rt_regs *regs);

static enum rt_fault_action kill(struct rt_task *t, struct rt_regs *regs, const char *reason)
{
	ksnprintf(t->kill_reason, sizeof t->kill_reason, "%s", reason);
	rt_print("runtime: task %lu (%s) killed: %s; the other tasks go on\n", t->id, t->name, reason);
	rt_kill_current(regs);
	return RT_FAULT_KILL;
}

/* A fault in the guard: double until the faulting access fits, within the limit. */
static enum rt_fault_action grow(struct rt_task *t, struct rt_regs *regs, uintptr_t addr)
{
	size_t size = t->stack_hi - t->stack_lo, new_size = size * 2;
	uintptr_t live = regs->rsp - RED_ZONE;
	uintptr_t lowest = (live < addr ? live : addr) & ~(PLAT_PAGE - 1);
	size_t need = t->stack_hi - lowest;
	while (new_size < need && new_size <= rt_stack_limit)
		new_size *= 2;
	if (new_size > rt_stack_limit) {
		rt_print("runtime: goroutine stack exceeds %lu-byte limit\n", rt_stack_limit);
		rt_print("runtime: sp=%#lx stack=[%#lx, %#lx]\n", regs->rsp, t->stack_lo, t->stack_hi);
		rt_print("fatal error: stack overflow\n");
		return kill(t, regs, "stack overflow");
	}
	if (!move_stack(t, new_size, regs->rsp - RED_ZONE, regs, true)) {
		rt_print("runtime: task %lu needs a %lu-byte stack (has %lu): out of memory\n", t->id,
			 new_size, size);
		return kill(t, regs, "out of memory growing its stack");
	}
	if (need > t->stats.high_water)
		t->stats.high_water = need;
	return RT_FAULT_RESUME;
}

/*
 * Says where a faulting address is, in lines under 80 columns for a
 * serial terminal: a live stack or its guard, or an old stack, with the
 * move that retired it. Returns false if it is in no stack we know.
 */
static bool print_where(uintptr_t addr)
{
	const struct retired *r = find_retired(addr);
	struct rt_task *t;
	if (!r) {
		char where[160];
		if (!rt_stack_describe(addr, where, sizeof where))
			return false;
		rt_print("runtime:   is %s\n", where);
		return true;
	}
	t = rt_task_by_id(r->task);
	if (!r->new_lo) {
		rt_print("runtime:   is in exited task %lu's stack [%#lx, %#lx)\n", r->task, r->lo, r->hi);
		return true;
	}
	rt_print("runtime:   is in task %lu's old stack [%#lx, %#lx)\n", r->task, r->lo, r->hi);
	rt_print("runtime:   moved by %s (move %lu) to [%#lx, %#lx)\n", r->grew ? "growth" : "shrink",
		 r->move + 1, r->new_lo, r->new_hi);
	if (t && t->state != RT_DONE && t->stack_lo)
		rt_print("runtime:   the task's stack is now [%#lx, %#lx)\n", t->stack_lo, t->stack_hi);
	else
		rt_print("runtime:   the task has exited since\n");
	rt_print("runtime: a pointer into a stack was kept where the runtime cannot adjust it\n"
		 "runtime: (a global, the heap): when the stack moved, it went stale.\n");
	return true;
}

/*
 * Turns a hardware fault into a Go runtime panic in the task, as Go's
 * sigpanic does: the task continues in rt_sigpanic(msg) on its own stack,
 * as if the faulting instruction had called it (a backtrace shows the
 * faulting function). Kills the task instead if its stack has no room.
 */
static enum rt_fault_action to_panic(struct rt_task *t, struct rt_regs *regs, const char *msg)
{
	uintptr_t sp = ((regs->rsp - RED_ZONE) & ~15UL) - 8;
	if (sp < t->stack_lo || sp + 8 > t->stack_hi)
		return kill(t, regs, msg);
	*(uint64_t *)sp = regs->rip;
	regs->rsp = sp;
	regs->rdi = (uint64_t)msg;
	regs->rip = (uint64_t)rt_sigpanic;
	return RT_FAULT_RESUME;
}

/*
 * The platform's fault handler calls this for every fault, with the
 * faulting context in regs. A page fault in the running task's guard
 * grows its stack. Any other fault while a task runs kills that task
 * with a report (the shell and other tasks go on). Faults outside tasks
 * are the platform's.
 */
enum rt_fault_action rt_fault(struct rt_regs *regs, uintptr_t addr, enum rt_fault_kind kind,
			      const char *what)
{
	struct rt_task *t = rt_current();
	if (!t)
		return RT_FAULT_NOT_OURS;
	if (kind == RT_FAULT_PAGE && addr >= t->stack_lo - RT_STACK_GUARD && addr < t->stack_lo)
		return grow(t, regs, addr);
	if (kind == RT_FAULT_DIVIDE)
		return to_panic(t, regs, "runtime error: integer divide by zero");
	if (kind == RT_FAULT_PAGE && addr < 65536)
		return to_panic(t, regs, "runtime error: invalid memory address or nil pointer dereference");

	char sym[96], reason[96];
	if (!plat_symbolize(regs->rip, sym, sizeof sym))
		ksnprintf(sym, sizeof sym, "?");
	rt_print("runtime: task %lu (%s): %s\n", t->id, t->name, what);
	rt_print("runtime:   at pc %#lx <%s>\n", regs->rip, sym);
	if (kind == RT_FAULT_PAGE) {
		rt_print("runtime:   address %#lx\n", addr);
		print_where(addr);
	}
	ksnprintf(reason, sizeof reason, "%s", what);
	return kill(t, regs, reason);
}

void rt_get_stats(struct rt_global_stats *s)
{
	extern uint64_t rt_tasks_spawned(void), rt_tasks_live(void);
	s->tasks_spawned = rt_tasks_spawned();
	s->tasks_live = rt_tasks_live();
	s->stack_bytes_committed = committed;
	s->stack_va_used = region_next - region_lo;
	s->stale_ranges = retired_count < RETIRED_MAX ? retired_count : RETIRED_MAX;
}
