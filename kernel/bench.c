/*
 * bench.c: the `bench` command: the runtime's figures on bare metal, run
 * by bench/qemu_bench.py under QEMU's -icount shift=0.
 */
#include "kernel.h"
#include "tasks.h"
#include "x86.h"

#include "../runtime/chan.h"
#include "../runtime/heap.h"
#include "../runtime/platform.h"
#include "../runtime/rt.h"

/*
 * Under QEMU's -icount shift=0, one guest nanosecond is one instruction:
 * with the fw_cfg flag "icount" the figures are printed as instructions,
 * otherwise as guest nanoseconds. Integers only: the kernel has no FPU.
 * Lines follow bench/report.py: BENCH <benchmark> morestack-qemu <value> <unit>.
 */
static bool bench_icount;

static void bench_emit(const char *bench, uint64_t total, uint64_t count, const char *per)
{
	uint64_t tenths = count ? total * 10 / count : 0;
	kprintf("BENCH %s morestack-qemu %lu.%lu %s/%s\n", bench, tenths / 10, tenths % 10,
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
	uint64_t m0 = t->stats.move_ns, t0 = plat_now_ns();
	bench_use(g->size - 512 + 2048);
	g->wall = plat_now_ns() - t0;
	g->move = t->stats.move_ns - m0;
	return t->stats.grows;
}

static uint64_t bench_short(uint64_t x) { return bench_use(16 << 10) + x; }

static struct rt_chan *bench_never;

static uint64_t bench_park(uint64_t x)
{
	uint64_t v;
	chan_recv(bench_never, &v);
	return x + v;
}

void cmd_bench(int argc, char **argv)
{
	(void)argc, (void)argv;
	bench_icount = fwcfg_flag("icount");
	uint64_t flags = read_rflags();
	cli();

	const uint64_t n = 100000;
	struct rt_task *a = rt_spawn(bench_yielder, n, "a"), *b = rt_spawn(bench_yielder, n, "b");
	uint64_t t0 = plat_now_ns();
	rt_run();
	bench_emit("switch", plat_now_ns() - t0, 2 * n, "switch");
	rt_reap(a);
	rt_reap(b);

	t0 = plat_now_ns();
	for (uint64_t i = 0; i < 10000; i++) {
		struct rt_task *t = rt_spawn(bench_nothing, i, "nop");
		rt_join(t, NULL);
		rt_reap(t);
	}
	bench_emit("spawn", plat_now_ns() - t0, 10000, "spawn");

	for (uint64_t size = RT_STACK_MIN; size <= (1UL << 20); size *= 2) {
		struct bench_growth g = { size, 0, 0 };
		struct rt_task *t = rt_spawn(bench_growth_task, (uint64_t)&g, "ladder");
		rt_join(t, NULL);
		rt_reap(t);
		char name[40];
		ksnprintf(name, sizeof name, "growth_ladder/%luKiB", size >> 10);
		bench_emit(name, g.wall, 1, "growth");
	}

	t0 = plat_now_ns();
	struct rt_task *batch[100];
	for (uint64_t i = 0; i < 10000; i += 100) {
		for (int k = 0; k < 100; k++)
			batch[k] = rt_spawn(bench_short, i + (uint64_t)k, "short");
		rt_run();
		for (int k = 0; k < 100; k++) {
			rt_join(batch[k], NULL);
			rt_reap(batch[k]);
		}
	}
	bench_emit("short_lived", plat_now_ns() - t0, 10000, "task");

	/* Memory per parked task: every frame taken, from the allocator or the
	 * pool (stack pages, page tables, the heap's pages holding task
	 * records), over 100,000 parked tasks; and the task records alone. */
	const uint64_t parked = 100000;
	struct rt_task **tasks = rt_alloc(parked * sizeof *tasks);
	bench_never = chan_make(8, 0);
	struct heap_stats h0, h1;
	heap_get_stats(&h0);
	uint64_t free0 = frames.free + rtplat_pool_frames();
	uint64_t made = 0;
	for (; tasks && made < parked; made++)
		if (!(tasks[made] = rt_spawn(bench_park, made, "parked")))
			break;
	rt_run();
	heap_get_stats(&h1);
	uint64_t frames_used = free0 - (frames.free + rtplat_pool_frames());
	if (made == parked) {
		kprintf("BENCH parked_mem morestack-qemu %lu bytes/task\n",
			frames_used * PAGE_SIZE / parked);
		kprintf("BENCH parked_mem morestack-qemu-runtime %lu bytes/task\n",
			(h1.bytes_used - h0.bytes_used) / parked);
	} else {
		kprintf("bench: only %lu of %lu parked tasks fit in memory\n", made, parked);
	}
	chan_close(bench_never);
	rt_run();
	for (uint64_t i = 0; i < made; i++) {
		rt_join(tasks[i], NULL);
		rt_reap(tasks[i]);
	}
	chan_free(bench_never);
	rt_free(tasks);
	if (flags & 0x200)
		sti();
	kprintf("bench: done\n");
}
