/*
 * bench.c: the `bench` command: the runtime's figures on bare metal, run
 * by bench/qemu_bench.py under QEMU's -icount shift=0.
 */
#include "fbcon.h"
#include "kernel.h"
#include "shell.h"
#include "x86.h"

#include "chan.h"
#include "heap.h"
#include "platform.h"
#include "rt.h"

/*
 * Under QEMU's -icount shift=0, one guest nanosecond is one instruction:
 * with the fw_cfg flag "icount" the figures are printed as instructions,
 * otherwise as guest nanoseconds. Integers only: the kernel has no FPU.
 * Lines follow bench/report.py: BENCH <benchmark> morestack-qemu <value> <unit>.
 */
static bool bench_icount;
static const char *bench_impl = "morestack-qemu"; /* the implementation column of the lines */

static void bench_emit(const char *bench, uint64_t total, uint64_t count, const char *per)
{
	uint64_t tenths = count ? total * 10 / count : 0;
	kprintf("BENCH %s %s %lu.%lu %s/%s\n", bench, bench_impl, tenths / 10, tenths % 10,
		bench_icount ? "insns" : "ns", per);
}

static uint64_t bench_yielder(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rt_yield();
	return n;
}

static uint64_t bench_nothing(uint64_t x) { return x; }

/* Uses about `bytes` of stack in 1 KiB frames. */
__attribute__((noinline)) static uint64_t bench_use(uint64_t bytes)
{
	volatile char pad[1008];
	pad[0] = 1;
	return bytes > 1024 ? bench_use(bytes - 1024) + (uint64_t)pad[0] : (uint64_t)pad[0];
}

struct bench_growth { uint64_t size, wall, move; };

static uint64_t bench_growth_task(uint64_t arg)
{
	struct bench_growth *g = (struct bench_growth *)arg;
	struct rt_task *t = rt_current();
	if (g->size > RT_STACK_MIN)
		bench_use(g->size * 3 / 4);
	bench_use(g->size - 512 - 1024); /* every page of this stack touched once, no growth */
	/* The call that fills the stack and grows it once, then the same call
	 * on the grown stack: the growth costs the difference (as Go's ladder
	 * and the Linux port's measure it). */
	uint64_t m0 = t->stats.move_ns, t0 = plat_now_ns();
	bench_use(g->size - 512 + 2048);
	uint64_t t1 = plat_now_ns();
	bench_use(g->size - 512 + 2048);
	uint64_t t2 = plat_now_ns();
	g->wall = (t1 - t0) - (t2 - t1 < t1 - t0 ? t2 - t1 : 0);
	g->move = t->stats.move_ns - m0;
	return t->stats.grows;
}

static uint64_t bench_short(uint64_t x) { return bench_use(16 << 10) + x; }

static struct rt_chan *bench_never;

static uint64_t bench_park(uint64_t x)
{
	uint64_t v;
	rt_chan_recv(bench_never, &v);
	return x + v;
}

/*
 * Every figure comes from tasks that all ran to their end: a task that
 * could not start or died gives no figure (task_start/task_end say why),
 * and no BENCH line is printed for it.
 */
#define NO_FIGURE "no figure"

static void bench_switch(void)
{
	const uint64_t n = 100000;
	struct rt_task *a = task_start("bench", bench_yielder, n, "a", "switch: " NO_FIGURE);
	struct rt_task *b = a ? task_start("bench", bench_yielder, n, "b", "switch: " NO_FIGURE) : NULL;
	uint64_t t0 = plat_now_ns();
	rt_run();
	uint64_t dt = plat_now_ns() - t0;
	bool ok = a && b;
	if (a)
		ok = task_end("bench", a, NULL, "switch: " NO_FIGURE) && ok;
	if (b)
		ok = task_end("bench", b, NULL, "switch: " NO_FIGURE) && ok;
	if (ok)
		bench_emit("switch", dt, 2 * n, "switch");
}

static void bench_spawn(void)
{
	const uint64_t n = 10000;
	uint64_t t0 = plat_now_ns(), i;
	for (i = 0; i < n; i++) {
		struct rt_task *t = task_start("bench", bench_nothing, i, "nop", "spawn: " NO_FIGURE);
		if (!t || !task_end("bench", t, NULL, "spawn: " NO_FIGURE))
			break;
	}
	if (i == n)
		bench_emit("spawn", plat_now_ns() - t0, n, "spawn");
}

/*
 * The floor under a spawn on this platform: a finished task's stack is
 * read once for its high water (the lowest non-zero word: stacks are kept
 * all zero, so the figure is exact and no task sees another's words), and
 * what it wrote is cleared. Measured on a stack of `size` bytes whose top
 * `used` bytes were written: 4 KiB and 256 bytes, about what
 * bench_nothing's task leaves; 32 KiB and 16 KiB, a short-lived task
 * started at the size it needs (the adaptive figure).
 */
static void bench_scan_floor(const char *bench, const char *per, size_t size, size_t used)
{
	static uint64_t stack[(32UL << 10) / 8] __attribute__((aligned(PAGE_SIZE)));
	static struct rt_task fake;
	const uint64_t n = 100;
	const size_t words = size / 8, first = (size - used) / 8;
	volatile uint64_t *w = stack;
	if (size > sizeof stack)
		return;
	fake.stack_lo = (uintptr_t)stack;
	fake.stack_hi = (uintptr_t)stack + size;
	fake.stats.high_water = 0;
	uint64_t t0 = plat_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		for (size_t k = first; k < words; k += 8) /* a word in eight */
			w[k] = k;
		rt_stack_high_water(&fake);
		memset((void *)fake.stack_dirty, 0, fake.stack_hi - fake.stack_dirty);
	}
	uint64_t t1 = plat_now_ns();
	for (uint64_t i = 0; i < n; i++) /* the task's own writes, not counted */
		for (size_t k = first; k < words; k += 8)
			w[k] = k;
	uint64_t t2 = plat_now_ns(), dt = (t1 - t0) - (t2 - t1 < t1 - t0 ? t2 - t1 : 0);
	memset(stack, 0, sizeof stack);
	if (fake.stats.high_water == used)
		kprintf("BENCH %s %s-scan-floor %lu.%lu %s/%s\n", bench, bench_impl, dt / n,
			dt * 10 / n % 10, bench_icount ? "insns" : "ns", per);
	else
		kprintf("bench: %s floor: the scan found %lu bytes used, not %lu; no figure\n", bench,
			fake.stats.high_water, used);
}

static void bench_ladder(void)
{
	for (uint64_t size = RT_STACK_MIN; size <= (1UL << 20); size *= 2) {
		char name[40], no[64];
		ksnprintf(name, sizeof name, "growth_ladder/%luKiB", size >> 10);
		ksnprintf(no, sizeof no, "%s: " NO_FIGURE "; the ladder stops", name);
		if (2 * size > rt_stack_limit) { /* the growth measured: size -> 2 * size */
			kprintf("bench: %s and up: skipped: a %lu-byte stack is over the stack limit "
				"(%lu bytes)\n", name, 2 * size, rt_stack_limit);
			return;
		}
		struct bench_growth g = { size, 0, 0 };
		if (!task_run("bench", bench_growth_task, (uint64_t)&g, "ladder", NULL, no))
			return;
		bench_emit(name, g.wall, 1, "growth");
	}
}

static void bench_short_lived(void)
{
	const uint64_t n = 10000;
	const char *no = "short_lived: " NO_FIGURE;
	if (rt_stack_limit < (32UL << 10)) { /* each task uses 16 KiB and more */
		kprintf("bench: short_lived: skipped: its tasks need 32 KiB stacks, over the stack "
			"limit (%lu bytes)\n", rt_stack_limit);
		return;
	}
	uint64_t t0 = plat_now_ns(), i;
	bool ok = true;
	struct rt_task *batch[100];
	for (i = 0; i < n && ok; i += 100) {
		int made = 0;
		for (; made < 100; made++)
			if (!(batch[made] = task_start("bench", bench_short, i + (uint64_t)made, "short",
						       no)))
				break;
		ok = made == 100;
		rt_run();
		for (int k = 0; k < made; k++) /* reports every death: each its own line */
			ok = task_end("bench", batch[k], NULL, no) && ok;
	}
	if (ok)
		bench_emit("short_lived", plat_now_ns() - t0, n, "task");
}

/* Memory per parked task: every physical page taken, from the allocator or the
 * pool (stack pages, page tables, the heap's pages holding task
 * records), over 100,000 parked tasks; and the task records alone. */
static void bench_parked(void)
{
	const uint64_t parked = 100000;
	struct rt_task **tasks = rt_alloc(parked * sizeof *tasks);
	bench_never = rt_chan_make(8, 0);
	if (!tasks || !bench_never) {
		kprintf("bench: parked_mem: out of memory for its %s; " NO_FIGURE "\n",
			tasks ? "channel" : "table of tasks");
		rt_free(tasks);
		rt_chan_free(bench_never);
		bench_never = NULL;
		return;
	}
	struct rt_heap_stats h0, h1;
	rt_heap_get_stats(&h0);
	uint64_t free0 = phys_pages.free + kplat_pool_pages();
	uint64_t made = 0;
	for (; made < parked; made++)
		if (!(tasks[made] = rt_spawn(bench_park, made, "parked")))
			break;
	rt_run();
	rt_heap_get_stats(&h1);
	uint64_t pages_used = free0 - (phys_pages.free + kplat_pool_pages());
	rt_chan_close(bench_never);
	rt_run();
	uint64_t died = 0;
	for (uint64_t i = 0; i < made; i++)
		if (!task_end("bench", tasks[i], NULL, "parked_mem: " NO_FIGURE))
			died++;
	rt_chan_free(bench_never);
	bench_never = NULL;
	rt_free(tasks);
	if (made < parked)
		kprintf("bench: parked_mem: only %lu of %lu parked tasks fit in memory; " NO_FIGURE "\n",
			made, parked);
	else if (!died) {
		kprintf("BENCH parked_mem morestack-qemu %lu bytes/task\n",
			pages_used * PAGE_SIZE / parked);
		kprintf("BENCH parked_mem morestack-qemu-runtime %lu bytes/task\n",
			(h1.bytes_used - h0.bytes_used) / parked);
	}
}

/* A full-screen redraw, which is what each jump scroll of the screen
 * console costs (kernel/fbcon.c): every cell's pixels written once. */
static void bench_screen(void)
{
	if (!fbcon_active()) {
		kprintf("bench: screen_redraw: no screen console; " NO_FIGURE "\n");
		return;
	}
	enum { N = 8 };
	uint64_t t0 = plat_now_ns();
	for (int i = 0; i < N; i++)
		fbcon_redraw();
	uint64_t ns = (plat_now_ns() - t0) / N;
	kprintf("BENCH screen_redraw morestack-qemu %lu.%lu us/screen\n", ns / 1000, ns % 1000 / 100);
}

void cmd_bench(int argc, char **argv)
{
	(void)argc, (void)argv;
	bench_icount = fwcfg_flag("icount");
	uint64_t flags = read_rflags();
	cli();
	bench_switch();
	/* What stacks cost under both stack policies: this platform's default
	 * (morestack-qemu) and the other one (stackreuse). */
	bool fault_on_free = rt_stack_fault_on_free;
	for (int policy = 0; policy < 2; policy++) {
		bool fof = policy == 0 ? fault_on_free : !fault_on_free;
		rt_set_stack_fault_on_free(fof);
		bench_impl = policy == 0 ? "morestack-qemu" : fof ? "morestack-qemu-fresh" : "morestack-qemu-reuse";
		bench_spawn();
		bench_ladder();
		bench_short_lived();
	}
	rt_set_stack_fault_on_free(fault_on_free);
	bench_impl = "morestack-qemu";
	bench_scan_floor("spawn", "spawn", 4UL << 10, 256);
	bench_scan_floor("short_lived", "task", 32UL << 10, 16UL << 10);
	/* Short-lived tasks with adaptive first stacks (off on bare metal, where
	 * the demos show growth from one page): the first batch teaches the
	 * size, the rest start there. */
	bool adaptive = rt_stack_adaptive;
	rt_stack_adaptive = true;
	bench_impl = "morestack-qemu-adaptive";
	bench_short_lived();
	rt_stack_adaptive = adaptive;
	bench_impl = "morestack-qemu";
	bench_parked();
	bench_screen();
	if (flags & 0x200)
		sti();
	kprintf("bench: done\n");
}
