/*
 * stack.c: task stacks: where their addresses come from, their memory,
 * and the record of the ranges they left (compare Go's runtime/stack.go,
 * stackalloc and stackfree). Moving a stack is stackmove.c; deciding what
 * a fault means is stackfault.c.
 *
 * Invariants:
 *   - Every task stack is [lo, hi), mapped, with RT_STACK_GUARD bytes of
 *     unmapped address space below lo that belong to it alone. Code built
 *     with -fstack-clash-protection touches every page on the way down, so
 *     running out of stack always faults inside that guard first.
 *   - Stacks are powers of two from RT_STACK_MIN (one page) to the limit.
 *   - Stack addresses are handed out upwards. With rt_stack_fault_on_free
 *     set they are never reused: a pointer into a stack that moved or died
 *     faults instead of reading someone else's data, and the retired ring
 *     says whose stack it was. Without it, stacks up to STACK_CACHE_MAX
 *     go into the stack cache when their task dies or moves away (Go's
 *     stackpool), still mapped, and the next stack of that size is taken
 *     from there: no system call, no page-table write, no page fault.
 *   - A stack handed to a task is all zeros below what the task writes:
 *     plat_commit's pages are zero-filled, and a stack goes into the
 *     cache only after the part its task wrote is cleared again (its high
 *     water mark, found as the lowest non-zero word, bounds that part).
 *   - A stack and its guard lie inside one "window": the addresses whose
 *     low 32 bits are in [2^30, 3 * 2^30). The mover takes any word whose
 *     value is inside a stack for a pointer (C has no stack maps); the
 *     windows make sure ordinary data never is one:
 *
 *       63        47        31 30              0
 *       +---------+---------+-+-----------------+
 *       | region  | region  |01 or 10| any     |   low half: 0x4000_0000
 *       +---------+---------+-+-----------------+   to 0xbfff_ffff
 *
 *     A small integer, or a pair of int32 (|x| < 2^30 each), has a low half
 *     near 0 or near 2^32, never in the window; a quad of int16 (|x| <
 *     2^14) has bits 16..31 small, and the window's are at least 0x4000 in
 *     magnitude; eight int8 (|x| < 64) the same in bits 24..31. The region's
 *     top bits do the rest (platform: 0x0000_1xxx_xxxx_xxxx on Linux,
 *     0xffff_cxxx_xxxx_xxxx on bare metal): no printable text (byte 7 is 0
 *     or 0xff), no double of everyday magnitude (the exponent is 0 or
 *     0x7ff), no small 64-bit integer. docs/stack-moves.md measures it.
 *
 *   stack region (grows up) ------------------------------------------>
 *   | unused | guard | stack 1 | guard | stack 2 | ... | unused | guard | ...
 *   |<-- low half 0 .. 2^30 -->|  window      ...      |<- 3*2^30 .. 2^32 ->|
 */
#include "closure.h"
#include "defer.h"
#include "internal.h"
#include "panic.h"
#include "platform.h"
#include "rt.h"

#include "format.h"
#include "kstring.h"

#define WINDOW_LO (1UL << 30)   /* low 32 bits of every stack byte: >= this */
#define WINDOW_HI (3UL << 30)   /* and < this */
/* Every stack's top is a multiple of this, so every move changes an
 * adjusted word by a multiple of it: the low 16 bits of a word are never
 * changed. A word that is part data, part a stale pointer's upper bytes
 * (the tail of a char array over an old frame) keeps its data bytes. */
#define TOP_ALIGN (64UL << 10)

uint64_t rt_stack_limit = RT_STACK_LIMIT_DEFAULT;
bool rt_trace_moves;
uint64_t rt_stack_committed;

_Static_assert(RT_STACK_LIMIT_MAX + RT_STACK_GUARD <= WINDOW_HI - WINDOW_LO,
	       "the largest stack and its guard must fit in one window");

/* Sets the stack limit; 0, or -1 if outside what a window can hold. */
int rt_set_stack_limit(uint64_t bytes)
{
	if (bytes < RT_STACK_LIMIT_MIN || bytes > RT_STACK_LIMIT_MAX)
		return -1;
	rt_stack_limit = bytes;
	return 0;
}

static uintptr_t region_lo, region_hi, region_next;

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

void rt_stack_retire(struct rt_task *t, uintptr_t lo, uintptr_t hi, uintptr_t new_lo, uintptr_t new_hi,
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

/*
 * Hands out [lo, lo+size) with its guard below, from addresses never used
 * before, inside one window. Returns lo, or 0 if the region is used up.
 * [fault-safe]
 */
uintptr_t rt_stack_va_alloc(size_t size)
{
	if (!region_lo) {
		region_lo = plat_stack_region(RT_STACK_REGION);
		if (!region_lo)
			return 0;
		region_hi = region_lo + RT_STACK_REGION;
		region_next = region_lo;
	}
	if (size > RT_STACK_LIMIT_MAX)
		return 0;
	uintptr_t start = region_next, top;
	for (int tries = 0;; tries++) { /* at most: below a window, then past it */
		top = (start + RT_STACK_GUARD + size + TOP_ALIGN - 1) & ~(TOP_ALIGN - 1);
		uintptr_t block = (top - 1) & ~0xffffffffUL;
		if (tries > 3)
			return 0;
		if (top - size - RT_STACK_GUARD < block + WINDOW_LO)
			start = block + WINDOW_LO;
		else if (top > block + WINDOW_HI)
			start = block + (1UL << 32) + WINDOW_LO;
		else
			break;
	}
	if (top > region_hi || top < region_next)
		return 0;
	region_next = top;
	return top - size;
}

/*
 * True if w could ever be taken for a pointer into a stack: it lies in the
 * part of the region handed out so far, inside a window. Every stack range
 * the mover adjusts is inside this set, so it bounds the conservative
 * scan's mistakes (docs/stack-moves.md measures them class by class).
 */
bool rt_stack_word_could_point(uint64_t w)
{
	uint64_t low = w & 0xffffffffUL;
	return w >= region_lo && w < region_next && low >= WINDOW_LO && low < WINDOW_HI;
}

/* How many addresses rt_stack_word_could_point accepts: the windows' part of
 * the region handed out so far. */
uint64_t rt_stack_words_possible(void)
{
	uint64_t n = 0;
	for (uint64_t block = region_lo & ~0xffffffffUL; block < region_next; block += 1UL << 32) {
		uint64_t a = block + WINDOW_LO, b = block + WINDOW_HI;
		if (a < region_lo)
			a = region_lo;
		if (b > region_next)
			b = region_next;
		if (b > a)
			n += b - a;
	}
	return n;
}

/*
 * The stack cache (Go's stackpool): per size class, 4 KiB to
 * STACK_CACHE_MAX, the low ends of mapped, all-zero stacks whose task died
 * or moved away, each still with its own guard below it. LIFO, so the
 * stack just given back, warm in the cache and the TLB, is the next taken.
 * At most STACK_CACHE_BYTES in all (Go keeps its pool until a GC; a
 * server's batch of tasks in flight should fit):
 *
 *   class 0: 4 KiB   [lo][lo][lo]...
 *   class 1: 8 KiB   [lo]...
 *   class 2: 16 KiB
 *   class 3: 32 KiB
 *
 * Taken and given back from the scheduler (runtime stack) and from the
 * fault path (a move): plain arrays, no lock. Neither can interrupt the
 * other: a fault or a stress tick moves a stack only while a task's own
 * code runs, never the runtime's. [fault-safe]
 */
#define STACK_CACHE_MAX (32UL << 10)
#define STACK_CACHE_CLASSES RT_STACK_CACHE_CLASSES
_Static_assert(RT_STACK_MIN << (STACK_CACHE_CLASSES - 1) == STACK_CACHE_MAX, "one class per size");
#define STACK_CACHE_BYTES (16UL << 20)
#define STACK_CACHE_DEPTH (STACK_CACHE_BYTES / RT_STACK_MIN) /* room for the smallest class */
static uintptr_t stack_cache[STACK_CACHE_CLASSES][STACK_CACHE_DEPTH];
static unsigned stack_cache_n[STACK_CACHE_CLASSES];
static uint64_t stack_cache_bytes, stack_cache_hits, stack_cache_misses;
bool rt_stack_fault_on_free;

static int cache_class(size_t size)
{
	if (size > STACK_CACHE_MAX || (size & (size - 1)) || size < RT_STACK_MIN)
		return -1;
	return __builtin_ctzl(size) - __builtin_ctzl(RT_STACK_MIN);
}

/* Unmaps every cached stack (their addresses are not used again). */
void rt_stack_cache_flush(void)
{
	for (int c = 0; c < STACK_CACHE_CLASSES; c++)
		while (stack_cache_n[c]) {
			size_t size = RT_STACK_MIN << c;
			uintptr_t lo = stack_cache[c][--stack_cache_n[c]];
			plat_decommit(lo, size, lo + size); /* cleared when cached */
			stack_cache_bytes -= size;
		}
}

void rt_set_stack_fault_on_free(bool on)
{
	rt_stack_fault_on_free = on;
	if (on)
		rt_stack_cache_flush();
}

/* A mapped, zeroed stack of size bytes with its guard: from the cache, or
 * fresh. Returns its low end, or 0 if out of memory or addresses. [fault-safe] */
uintptr_t rt_stack_get(size_t size)
{
	int c = cache_class(size);
	uintptr_t lo;
	if (c >= 0 && stack_cache_n[c]) {
		lo = stack_cache[c][--stack_cache_n[c]];
		stack_cache_bytes -= size;
		stack_cache_hits++;
	} else {
		lo = rt_stack_va_alloc(size);
		if (!lo || plat_commit(lo, size) != 0)
			return 0;
		stack_cache_misses += c >= 0;
	}
	rt_stack_committed += size;
	return lo;
}

/*
 * The lowest non-zero word of [lo, hi), or hi if all are zero. lo and hi
 * are page aligned. Most of a stack is usually untouched: 64 bytes are
 * looked at per step (the OR of eight words), then the word within.
 */
static uintptr_t lowest_written(uintptr_t lo, uintptr_t hi)
{
	const uint64_t *p = (const uint64_t *)lo, *end = (const uint64_t *)hi;
	while (p < end && (p[0] | p[1] | p[2] | p[3] | p[4] | p[5] | p[6] | p[7]) == 0)
		p += 8;
	while (p < end && *p == 0)
		p++;
	return (uintptr_t)p;
}

/* Gives back the stack [lo, lo+size), no longer any task's: into the
 * cache, cleared, or unmapped for good. dirty: its lowest written
 * address if the caller knows it, else 0. [fault-safe] */
void rt_stack_put(uintptr_t lo, size_t size, uintptr_t dirty)
{
	int c = cache_class(size);
	rt_stack_committed -= size;
	if (c < 0 || rt_stack_fault_on_free || stack_cache_bytes + size > STACK_CACHE_BYTES) {
		plat_decommit(lo, size, dirty ? dirty : lo);
		return;
	}
	if (!dirty)
		dirty = lowest_written(lo, lo + size);
	memset((void *)dirty, 0, lo + size - dirty);
	stack_cache[c][stack_cache_n[c]++] = lo;
	stack_cache_bytes += size;
}

/*
 * Adaptive first stacks (after Go 1.19's adaptivestackstart, which starts
 * every goroutine at the average stack size its last GC scanned). Here
 * the average is kept per entry function, so one kind of task that needs
 * 16 KiB starts at 32 KiB without making every other kind start there:
 *
 *   start_sizes[hash(fn)]: { fn, average high water of its tasks (EMA, 1/4) }
 *   first stack = the power of two that holds 5/4 of that average and
 *                 1 KiB more, from RT_STACK_MIN up to STACK_CACHE_MAX
 *                 and never over the stack limit; RT_STACK_MIN for a
 *                 function not seen yet (or whose slot another took).
 */
bool rt_stack_adaptive;
#define START_SLOTS 64
static struct start_size {
	rt_func fn;
	uint64_t average;
} start_sizes[START_SLOTS];

static struct start_size *start_slot(rt_func fn)
{
	uint64_t h = (uint64_t)(uintptr_t)fn * 0x9e3779b97f4a7c15ULL;
	return &start_sizes[h >> 58]; /* the top 6 bits: 64 slots */
}

size_t rt_stack_start_size(rt_func fn)
{
	struct start_size *s = start_slot(fn);
	if (!rt_stack_adaptive || s->fn != fn)
		return RT_STACK_MIN;
	uint64_t want = s->average + s->average / 4 + 1024, size = RT_STACK_MIN;
	while (size < want && size < STACK_CACHE_MAX && 2 * size <= rt_stack_limit)
		size *= 2;
	return size;
}

void rt_stack_learn(rt_func fn, uint64_t high_water)
{
	struct start_size *s = start_slot(fn);
	if (s->fn != fn)
		*s = (struct start_size){ fn, high_water };
	else
		s->average = (3 * s->average + high_water) / 4;
}

/*
 * The image area, where hibernated tasks keep their used bytes
 * (stackmove.c, rt_stack_hibernate): blocks of a multiple of
 * RT_IMAGE_ALIGN bytes, up to RT_IMAGE_MAX, carved from 64 KiB chunks of
 * the stack region (inside the windows, like every stack: the words of an
 * image are scanned and adjusted like a stack's), one free list per size.
 *
 *   chunk: [img][img][img]......[bump ->      free      ]
 *   free[k]: blocks of (k+1) * 256 bytes, linked through their first word
 */
#define IMAGE_CHUNK (64UL << 10)
#define IMAGE_CLASSES (RT_IMAGE_MAX / RT_IMAGE_ALIGN)
static uintptr_t image_free[IMAGE_CLASSES];
static uintptr_t image_bump, image_end;
static uint64_t image_bytes_used, image_bytes_mapped;

uintptr_t rt_image_alloc(size_t bytes)
{
	if (!bytes || bytes > RT_IMAGE_MAX || bytes % RT_IMAGE_ALIGN)
		return 0;
	size_t k = bytes / RT_IMAGE_ALIGN - 1;
	uintptr_t img = image_free[k];
	if (img) {
		image_free[k] = *(uintptr_t *)img;
		*(uintptr_t *)img = 0;
	} else {
		if (image_end - image_bump < bytes) {
			uintptr_t chunk = rt_stack_va_alloc(IMAGE_CHUNK);
			if (!chunk || plat_commit(chunk, IMAGE_CHUNK) != 0)
				return 0;
			image_bump = chunk; /* what was left of the last chunk is not used */
			image_end = chunk + IMAGE_CHUNK;
			image_bytes_mapped += IMAGE_CHUNK;
		}
		img = image_bump;
		image_bump += bytes;
	}
	image_bytes_used += bytes;
	return img;
}

/* Clears the block (images hold stale stack words otherwise) and keeps it for reuse. */
void rt_image_free(uintptr_t img, size_t bytes)
{
	size_t k = bytes / RT_IMAGE_ALIGN - 1;
	memset((void *)img, 0, bytes);
	*(uintptr_t *)img = image_free[k];
	image_free[k] = img;
	image_bytes_used -= bytes;
}

/* Gives task t a stack of size bytes. Returns false if out of memory or addresses. */
bool rt_stack_alloc(struct rt_task *t, size_t size)
{
	uintptr_t lo = rt_stack_get(size);
	if (!lo)
		return false;
	t->stack_lo = lo;
	t->stack_hi = lo + size;
	return true;
}

/*
 * Updates and returns the most bytes t's stack has held. Stack pages are
 * zero when mapped, so the lowest non-zero word marks the deepest write
 * since the last move (a move records what it saw first). Not for a task
 * whose code is running; a task stopped in a fault is fine. [fault-safe]
 */
uint64_t rt_stack_high_water(struct rt_task *t)
{
	if (!t->stack_lo)
		return t->stats.high_water;
	uint64_t used = t->stack_hi - lowest_written(t->stack_lo, t->stack_hi);
	t->stack_dirty = t->stack_hi - used;
	if (used > t->stats.high_water)
		t->stats.high_water = used;
	return t->stats.high_water;
}

/* Gives back the stack of a finished task (rt_stack_put). */
void rt_stack_free(struct rt_task *t)
{
	if (t->image) { /* it died hibernated */
		rt_image_free(t->image, t->image_bytes);
		t->image = 0;
	}
	if (!t->stack_lo)
		return;
	rt_stack_high_water(t); /* sets t->stack_dirty */
	rt_stack_put(t->stack_lo, t->stack_hi - t->stack_lo, t->stack_dirty);
	rt_stack_retire(t, t->stack_lo, t->stack_hi, 0, 0, false);
	t->stack_lo = t->stack_hi = 0;
}

/* Halves the stack of a task that is not running if it uses under a
 * quarter of it. On the runtime stack (task.c's invariant 1). */
void rt_stack_maybe_shrink(struct rt_task *t)
{
	/* LAB shrink BEGIN: a task not running, using less than a quarter of a stack above the minimum, moves to one half as large */
	size_t size = t->stack_hi - t->stack_lo, used = t->stack_hi - t->ctx.rsp;
	if (t->state == RT_DONE || t->state == RT_RUNNING || size <= RT_STACK_MIN || used >= size / 4)
		return;
	rt_stack_move(t, size / 2, t->ctx.rsp, NULL, false); /* out of memory: keep the big one */
	/* LAB shrink ELSE
	(void)t;
	LAB shrink END */
}

/* The live task whose stack or guard holds addr, or NULL. [fault-safe] */
struct rt_task *rt_stack_owner(uintptr_t addr)
{
	for (struct rt_task *t = rt_tasks(); t; t = t->all_next)
		if (t->state != RT_DONE && t->stack_lo && addr >= t->stack_lo - RT_STACK_GUARD &&
		    addr < t->stack_hi)
			return t;
	return NULL;
}

/* Describes addr if it is in a task stack, a guard or an old stack. */
bool rt_stack_describe(uintptr_t addr, char *buf, size_t cap)
{
	struct rt_task *t = rt_stack_owner(addr);
	if (t) {
		if (addr >= t->stack_lo)
			ksnprintf(buf, cap, "in task %lu's stack [%#lx, %#lx)", t->id, t->stack_lo, t->stack_hi);
		else
			ksnprintf(buf, cap, "in the guard below task %lu's stack [%#lx, %#lx)", t->id,
				  t->stack_lo, t->stack_hi);
		return true;
	}
	if (rt_on_runtime_stack(addr)) {
		ksnprintf(buf, cap, "in the runtime's own stack");
		return true;
	}
	const struct retired *r = find_retired(addr);
	if (!r)
		return false;
	t = rt_task_by_id(r->task);
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

/* True if addr is in an old stack of the task numbered id (one it moved away from). */
bool rt_stack_was_tasks(uintptr_t addr, uint64_t id)
{
	const struct retired *r = find_retired(addr);
	return r && r->task == id && r->new_lo;
}

/*
 * Says where a faulting address is, in lines under 80 columns for a
 * serial terminal: a live stack or its guard, or an old stack, with the
 * move that retired it; if `blame` and it is in an old stack, the likely
 * cause (a pointer kept outside the stack). Returns false if it is in no
 * stack we know.
 */
bool rt_stack_print_where(uintptr_t addr, bool blame)
{
	const struct retired *r = rt_stack_owner(addr) ? NULL : find_retired(addr);
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
	if (blame)
		rt_print("runtime: a pointer into a stack was kept where the runtime cannot adjust it\n"
			 "runtime: (a global, the heap): when the stack moved, it went stale.\n");
	return true;
}

void rt_get_stats(struct rt_global_stats *s)
{
	s->tasks_spawned = rt_tasks_spawned();
	s->tasks_live = rt_tasks_live();
	s->stack_bytes_committed = rt_stack_committed;
	s->stack_va_used = region_next - region_lo;
	s->stale_ranges = retired_count < RETIRED_MAX ? retired_count : RETIRED_MAX;
	s->stack_bytes_cached = stack_cache_bytes;
	s->image_bytes_used = image_bytes_used;
	s->image_bytes_mapped = image_bytes_mapped;
	s->stacks_cached = 0;
	for (int c = 0; c < STACK_CACHE_CLASSES; c++) {
		s->stacks_cached += stack_cache_n[c];
		s->stacks_cached_class[c] = stack_cache_n[c];
	}
	s->stack_cache_hits = stack_cache_hits;
	s->stack_cache_misses = stack_cache_misses;
}
