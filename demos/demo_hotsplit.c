/*
 * demo_hotsplit.c: the `hotsplit` demo (docs/go-semantics.md section 5): why Go
 * left segmented stacks. A loop whose call lands just past the end of the
 * stack's room, run two ways:
 *   segmented: a small model of Go <= 1.2 (and gcc's split stacks): when a
 *     call does not fit in the current segment, allocate a segment, run the
 *     call there (seg_call switches stacks), free it when it returns, so
 *     every iteration pays an allocation and a free: the "hot split";
 *   contiguous: this runtime (and Go >= 1.4): the first such call faults on
 *     the guard page, the stack doubles once, and the loop runs at full speed.
 * Times are guest TSC; counts are what the tests check.
 */
#include "demo.h"
#include "kernel.h"
#include "shell.h"
#include "x86.h"

#include "heap.h"
#include "platform.h"
#include "rt.h"
#include "twins.h"

#define ITERATIONS 100000
#define SEGMENT 4096
#define LEAF_FRAME 320 /* what the leaf needs: more than the room left at the boundary */

uint64_t seg_call(uint64_t (*fn)(uint64_t), uint64_t arg, uintptr_t stack_top);

static uintptr_t seg_limit;   /* lowest usable address of the current segment */
static uint64_t seg_allocs, seg_failed;

static uintptr_t sp_now(void)
{
	uintptr_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return sp;
}

/* A call the way a split-stack runtime makes it: check the room, split if short. */
__attribute__((noinline)) static uint64_t split_call(uint64_t x)
{
	if (sp_now() - LEAF_FRAME >= seg_limit)
		return twin_hot_leaf(x);
	void *seg = rt_alloc(SEGMENT);
	if (!seg) { /* the model cannot make the call: counted, and the loop says so */
		seg_failed++;
		return 0;
	}
	seg_allocs++;
	uintptr_t saved = seg_limit;
	seg_limit = (uintptr_t)seg;
	uint64_t r = seg_call(twin_hot_leaf, x, (uintptr_t)seg + SEGMENT);
	seg_limit = saved;
	rt_free(seg);
	return r;
}

static uint64_t segmented_task(uint64_t unused)
{
	(void)unused;
	seg_allocs = seg_failed = 0;
	seg_limit = sp_now() - 160; /* the current segment ends just below here */
	uint64_t sum = 0, t0 = plat_now_ns();
	for (uint64_t i = 0; i < ITERATIONS && !seg_failed; i++)
		sum += split_call(i);
	uint64_t us = (plat_now_ns() - t0) / 1000;
	if (seg_failed)
		kprintf("  segmented stacks: out of memory: a %d-byte segment could not be allocated "
			"after %lu\n", SEGMENT, seg_allocs);
	else
		kprintf("  segmented stacks: %lu segment allocations (and frees), %lu us\n", seg_allocs,
			us);
	return sum;
}

/* The same loop on this runtime's contiguous stack (twins/twin_hotsplit.c). */
static uint64_t contiguous_task(uint64_t unused)
{
	(void)unused;
	uint64_t t0 = plat_now_ns(), sum = twin_at_boundary(ITERATIONS);
	uint64_t us = (plat_now_ns() - t0) / 1000;
	struct rt_task *t = rt_current();
	kprintf("  contiguous stacks: %lu stack growth (%lu -> %lu KiB), %lu us\n", t->stats.grows,
		RT_STACK_MIN >> 10, (t->stack_hi - t->stack_lo) >> 10, us);
	return sum;
}

/* Runs one loop in a task; false (after saying why) if it did not return. */
static bool run(rt_func fn, const char *name, uint64_t *sum)
{
	return task_run("hotsplit", fn, 0, name, sum, "no verdict about the two loops");
}

void cmd_hotsplit(int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const go[] = {
		"for i := 0; i < 100000; i++ { leaf(i) }  // leaf's frame does not fit",
		"// Go 1.2: each call allocates a stack segment and frees it on return",
		"// Go 1.4+: the first call copies the stack to one twice as large; done",
		NULL,
	};
	kprintf("hotsplit: a call at a stack boundary, %d times\n", ITERATIONS);
	demo_go_source(go);
	uint64_t a = 0, b = 0;
	bool a_ran = run(segmented_task, "segmented", &a);
	bool b_ran = run(contiguous_task, "contiguous", &b);
	if (a_ran && seg_failed) {
		kprintf("hotsplit: the segmented loop ran out of memory: no verdict about the two "
			"loops\n");
		a_ran = false;
	}
	if (!a_ran || !b_ran)
		return;
	uint64_t expect = (uint64_t)ITERATIONS * (ITERATIONS + 1) / 2;
	kprintf("hotsplit: both loops computed %s\n", a == expect && b == expect ? "the same sum" : "DIFFERENT SUMS");
}
