/*
 * demo_stackpool.c: the `stackpool` demo: the runtime's stack cache at
 * work (docs/go-semantics.md section 8), beside Go's stackpool and
 * stackLarge.
 *
 * Go keeps freed stacks under 32 KB in a pool per size class (2, 4, 8 and
 * 16 KiB; with a per-P cache in front) and larger ones on a list until the
 * next GC: "Go's stacks are really heap". This runtime keeps stacks of 4,
 * 8, 16 and 32 KiB that their task left (it exited, or moved to a bigger
 * one) in a cache per size class, cleared and still mapped; a stack above
 * 32 KiB is unmapped when left. The demo turns reuse on for its own run
 * (bare metal gives every stack fresh addresses by default, so stale
 * pointers fault: README, "Stack policies") and puts the setting back.
 */
#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "rt.h"

static uintptr_t seen_lo, seen_hi;  /* the stack the last task started on */
static uint64_t seen_final;           /* the size of the one it ended on */

/* Uses about 1 KiB of stack per level. */
__attribute__((noinline)) static uint64_t pool_use(uint64_t kib)
{
	volatile char pad[1000];
	pad[0] = (char)kib;
	return kib > 1 ? pool_use(kib - 1) + (uint64_t)pad[0] : (uint64_t)pad[0];
}

static uint64_t pool_task(uint64_t kib)
{
	struct rt_task *t = rt_current();
	seen_lo = t->stack_lo;
	seen_hi = t->stack_hi;
	if (kib)
		pool_use(kib);
	/* The fault handler changed the record under the compiler's feet (it
	 * knows pool_use writes no memory of ours): read it again. */
	__asm__ volatile("" ::: "memory");
	seen_final = t->stack_hi - t->stack_lo;
	return t->stats.grows;
}

static void print_cache(const char *when)
{
	struct rt_global_stats g;
	rt_get_stats(&g);
	kprintf("    %-13s cached: 4 KiB %lu, 8 KiB %lu, 16 KiB %lu, 32 KiB %lu\n", when,
		g.stacks_cached_class[0], g.stacks_cached_class[1], g.stacks_cached_class[2],
		g.stacks_cached_class[3]);
}

/* Runs one task that uses kib KiB of stack and says, from the runtime's
 * counts, where its stacks came from and went; false if it died. */
static bool run_one(const char *name, uint64_t kib)
{
	struct rt_global_stats g0, g1;
	rt_get_stats(&g0);
	uint64_t grows = 0;
	if (!task_run("stackpool", pool_task, kib, "pool", &grows, "the demo stops"))
		return false;
	rt_get_stats(&g1);
	uint64_t hits = g1.stack_cache_hits - g0.stack_cache_hits;
	uint64_t fresh = g1.stack_cache_misses - g0.stack_cache_misses;
	kprintf("  %s uses %lu KiB: started on [%#lx, %#lx)\n", name, kib ? kib : 1, seen_lo, seen_hi);
	kprintf("    stacks taken from the cache: %lu, mapped fresh: %lu; grew %lu time%s\n", hits, fresh,
		grows, plural(grows));
	if (grows)
		kprintf("    each growth moved the used pages to a bigger stack (page-table entries):\n"
			"    the stack left behind kept no pages, so nothing of it was cached\n");
	kprintf("    at its exit its %lu KiB stack %s\n", seen_final >> 10,
		seen_final <= (32UL << 10) ? "was cleared and went to the cache"
					   : "was unmapped: above 32 KiB nothing is cached");
	demo_pause();
	return true;
}

void cmd_stackpool(int argc, char **argv)
{
	(void)argc, (void)argv;
	kprintf("stackpool: where a task's stack comes from, and where it goes\n");
	kprintf("Go 1.19: stacks under 32 KiB come from a pool per size class (a per-P cache\n"
		"in front), larger ones from a list kept until the next GC. Here: a cache per\n"
		"size class of 4, 8, 16 and 32 KiB; a stack above 32 KiB is unmapped.\n");
	bool fault_on_free = rt_stack_fault_on_free;
	/* The move-stress switch's moves take and give stacks too: held off, so
	 * the counts below are this demo's own. */
	kplat_stress_hold++;
	rt_set_stack_fault_on_free(true); /* empties the cache: the demo starts from nothing */
	rt_set_stack_fault_on_free(false);
	print_cache("at the start:");
	bool ok = run_one("task A", 0);
	uintptr_t a_lo = seen_lo;
	if (ok)
		print_cache("after A:");
	ok = ok && run_one("task B", 0);
	if (ok) {
		kprintf("  B %s A's stack%s\n", seen_lo == a_lo ? "was given" : "did not get",
			seen_lo == a_lo ? ": the cache is LIFO, the stack still warm" : "");
		print_cache("after B:");
	}
	ok = ok && run_one("task C", 20);
	if (ok)
		print_cache("after C:");
	ok = ok && run_one("task D", 100);
	if (ok)
		print_cache("after D:");
	rt_set_stack_fault_on_free(fault_on_free);
	kplat_stress_hold--;
	kprintf("stackpool: %s; stack reuse is %s again\n", ok ? "done" : "stopped",
		fault_on_free ? "off" : "on");
}
