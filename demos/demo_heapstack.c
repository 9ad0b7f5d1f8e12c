/*
 * demo_heapstack.c: the `heapstack` demo: the notes' six differences
 * between the heap and the stack, measured on the live system
 * (docs/go-semantics.md section 10).
 *
 *   1. who frees: a heap object stays until it is freed (the heap's count
 *      shows it); a frame is gone at `ret`, and the next call's frame
 *      takes its place;
 *   2. size: a task's stack is bounded by the stack limit, the heap by the
 *      machine's free memory;
 *   3. direction: successive frames go down; successive heap objects go
 *      where the heap puts them (measured, not assumed);
 *   4. when the size is decided: a frame's at compile time (the prologue's
 *      constant), a heap object's at run time;
 *   5. cost: a frame against rt_alloc and rt_free, in guest nanoseconds;
 *   6. what a frame holds: the return address, the saved RBP, parameters
 *      and locals, drawn from a live frame.
 */
#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "heap.h"
#include "panic.h"
#include "rt.h"

static struct demo_picture pic;

/* A frame with one local: its address, for "the next call takes its place". */
__attribute__((noinline)) static uintptr_t frame_with_local(uint64_t x)
{
	volatile uint64_t local = x;
	return (uintptr_t)&local;
}

/* Allocates an object and loses it: only the address, as a number, goes back. */
__attribute__((noinline)) static uintptr_t leak_one(void)
{
	uint64_t *p = rt_alloc(64);
	if (p)
		*p = 1;
	return (uintptr_t)p;
}

/* Frames going down: the address of each level's local. */
__attribute__((noinline)) static void frames_down(int depth, uintptr_t *out)
{
	volatile uint64_t local = (uint64_t)depth;
	out[depth] = (uintptr_t)&local;
	if (depth < 3)
		frames_down(depth + 1, out);
	__asm__ volatile("" ::: "memory");
}

/* The cost of a frame: a call whose 64-byte local is written. */
__attribute__((noinline)) static uint64_t frame_cost(uint64_t x)
{
	volatile uint64_t buf[8];
	buf[0] = x;
	return buf[0];
}

/* Draws a live frame: what the stack holds for one call. */
__attribute__((noinline)) static uint64_t holds(uint64_t param1, uint64_t param2)
{
	volatile uint64_t p1 = param1, p2 = param2, sum = param1 + param2;
	uintptr_t *fp = __builtin_frame_address(0);
	pic = (struct demo_picture){ 0 };
	demo_pic_add(&pic, fp + 1, "the return address");
	demo_pic_add(&pic, fp, "the caller's saved RBP");
	demo_pic_add(&pic, &p1, "param1 (arrived in rdi)");
	demo_pic_add(&pic, &p2, "param2 (arrived in rsi)");
	demo_pic_add(&pic, &sum, "a local: sum");
	demo_draw(&pic, "6. what a frame holds: holds(3, 4), live");
	return sum;
}

static uint64_t heapstack_main(uint64_t unused)
{
	(void)unused;
	demo_print_task_stack();
	struct rt_heap_stats h0, h1;

	kprintf("\n  1. who frees\n");
	rt_heap_get_stats(&h0);
	uint64_t *obj = rt_alloc(64);
	if (!obj)
		rt_panic("heapstack: out of memory for one object");
	rt_heap_get_stats(&h1);
	kprintf("    rt_alloc(64) = %#lx: the heap holds %lu object%s (%lu before);\n"
		"    it stays until rt_free (C) or until no pointer reaches it (Go's GC)\n",
		(uintptr_t)obj, h1.objects_live, plural(h1.objects_live), h0.objects_live);
	uintptr_t lost = leak_one();
	rt_heap_get_stats(&h1);
	kprintf("    leak_one() allocated and lost its object at %#lx: the heap\n"
		"    still holds %lu object%s, one more than its caller can name: a leak\n", lost,
		h1.objects_live, plural(h1.objects_live));
	rt_free((void *)lost); /* the demo keeps the address as a number, to clean up */
	uintptr_t first = frame_with_local(1), second = frame_with_local(2);
	kprintf("    a local of one call: %#lx\n    the same local of the next call: %#lx\n", first,
		second);
	kprintf("    the frame was gone at ret: %s\n",
		first == second ? "the next call's frame took its place" : "(a different place)");
	rt_free(obj);
	rt_heap_get_stats(&h1);
	kprintf("    rt_free: the heap holds %lu object%s again\n", h1.objects_live,
		plural(h1.objects_live));

	demo_pause();
	kprintf("\n  2. size\n");
	kprintf("    this task's stack may grow to %lu bytes (the stack limit);\n"
		"    the heap may take what the machine has free: %lu KiB now\n", rt_stack_limit,
		phys_pages.free * 4);

	demo_pause();
	kprintf("\n  3. direction\n");
	uintptr_t down[4];
	frames_down(0, down);
	kprintf("    successive frames: %#lx %#lx\n                       %#lx %#lx\n", down[0],
		down[1], down[2], down[3]);
	bool falls = down[1] < down[0] && down[2] < down[1] && down[3] < down[2];
	kprintf("    each deeper call's local is lower: %s\n", falls ? "yes, the stack grows down" : "NO");
	void *objs[4];
	int got = 0;
	for (; got < 4; got++)
		if (!(objs[got] = rt_alloc(64)))
			break;
	if (got == 4) {
		kprintf("    successive rt_alloc(64): %#lx %#lx\n                             %#lx %#lx\n",
			(uintptr_t)objs[0], (uintptr_t)objs[1], (uintptr_t)objs[2], (uintptr_t)objs[3]);
		bool up = objs[1] > objs[0] && objs[2] > objs[1] && objs[3] > objs[2];
		bool downward = objs[1] < objs[0] && objs[2] < objs[1] && objs[3] < objs[2];
		kprintf("    the heap put them %s\n", up ? "going up, as the notes say heaps do"
					      : downward ? "going down: a heap has no direction of its own"
							 : "in no order: a heap has no direction of its own");
	}
	for (int i = 0; i < got; i++)
		rt_free(objs[i]);

	demo_pause();
	kprintf("\n  4. when the size is decided\n");
	kprintf("    a frame's size is a constant of the function's prologue (sub $N,%%rsp),\n"
		"    fixed when it was compiled; a heap object's is an argument of rt_alloc\n");

	demo_pause();
	kprintf("\n  5. cost (guest time, 10000 of each)\n");
	const uint64_t n = 10000;
	uint64_t t0 = plat_now_ns(), sink = 0;
	for (uint64_t i = 0; i < n; i++)
		sink += frame_cost(i);
	uint64_t t1 = plat_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		volatile uint64_t *p = rt_alloc(64);
		if (!p)
			break;
		p[0] = i;
		sink += p[0];
		rt_free((void *)p);
	}
	uint64_t t2 = plat_now_ns();
	uint64_t frame_ns = (t1 - t0) * 10 / n, heap_ns = (t2 - t1) * 10 / n;
	kprintf("    a call with a 64-byte local: %lu.%lu ns\n", frame_ns / 10, frame_ns % 10);
	kprintf("    rt_alloc(64) and rt_free:     %lu.%lu ns\n", heap_ns / 10, heap_ns % 10);
	kprintf("    (a frame is an add to RSP; the heap finds a free slot and gives it back)\n");
	(void)sink;

	demo_pause();
	uint64_t s = holds(3, 4);
	char got_s[8];
	ksnprintf(got_s, sizeof got_s, "%lu", s);
	demo_compare("holds(3, 4)", "7", got_s);
	return falls;
}

void cmd_heapstack(int argc, char **argv)
{
	(void)argc, (void)argv;
	kprintf("heapstack: the heap against the stack, six differences, measured\n");
	uint64_t falls = 0;
	int matched = demo_run("heapstack", heapstack_main, "heapstack", &falls);
	if (matched >= 0)
		kprintf("heapstack: %s\n", matched == 1 && falls ? "ok" : "FAILED");
}
