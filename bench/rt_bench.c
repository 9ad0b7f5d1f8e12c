/*
 * rt_bench.c: morestack's own figures on the Linux port, for `make bench`.
 * Prints "BENCH <benchmark> morestack <value> <unit>" lines, the format
 * bench/report.py reads; the baselines (Go, Boost.Context, glibc, PCL,
 * gcc split stacks) print the same for themselves. Each timed figure is
 * the best of 5 runs. Checksums go to stderr so no work is optimized out.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan.h"
#include "closure.h"
#include "defer.h"
#include "heap.h"
#include "platform_linux.h"
#include "platform.h"
#include "rt.h"

#include "twins.h"

#define RUNS 5

/* Appended to morestack's implementation names while the other stack
 * policy is measured (see main). */
static const char *policy = "";

static void emit(const char *bench, const char *impl, double value, const char *unit)
{
	printf("BENCH %s %s%s %.3f %s\n", bench, impl, strncmp(impl, "morestack", 9) ? "" : policy,
	       value, unit);
	fflush(stdout);
}

/* ---- switch: two tasks yielding to each other ---- */

static uint64_t yielder(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rt_yield();
	return n;
}

static double bench_switch(void)
{
	const uint64_t n = 2000000;
	double best = 1e30;
	for (int r = 0; r < RUNS; r++) {
		struct rt_task *a = rt_spawn(yielder, n, "a"), *b = rt_spawn(yielder, n, "b");
		uint64_t t0 = plat_now_ns();
		rt_run();
		double ns = (double)(plat_now_ns() - t0) / (2.0 * n);
		if (ns < best) best = ns;
		rt_reap(a);
		rt_reap(b);
	}
	return best;
}

/* ---- switch through an unbuffered channel: one message each way per round ---- */

struct pingpong { struct rt_chan *a, *b; uint64_t n; };

static uint64_t ping(uint64_t arg)
{
	struct pingpong *p = (struct pingpong *)arg;
	uint64_t v = 0;
	for (uint64_t i = 0; i < p->n; i++) {
		rt_chan_send(p->a, &i);
		rt_chan_recv(p->b, &v);
	}
	return v;
}

static uint64_t pong(uint64_t arg)
{
	struct pingpong *p = (struct pingpong *)arg;
	uint64_t v = 0;
	for (uint64_t i = 0; i < p->n; i++) {
		rt_chan_recv(p->a, &v);
		rt_chan_send(p->b, &v);
	}
	return v;
}

static double bench_chan(void)
{
	struct pingpong p = { rt_chan_make(8, 0), rt_chan_make(8, 0), 1000000 };
	double best = 1e30;
	for (int r = 0; r < RUNS; r++) {
		struct rt_task *a = rt_spawn(ping, (uint64_t)&p, "ping");
		struct rt_task *b = rt_spawn(pong, (uint64_t)&p, "pong");
		uint64_t t0 = plat_now_ns();
		rt_run();
		double ns = (double)(plat_now_ns() - t0) / (2.0 * p.n); /* per message = per switch */
		if (ns < best) best = ns;
		rt_reap(a);
		rt_reap(b);
	}
	rt_chan_free(p.a);
	rt_chan_free(p.b);
	return best;
}

/* ---- spawn: create, run to exit, reap ---- */

static uint64_t nothing(uint64_t x) { return x; }

static double bench_spawn(void)
{
	const uint64_t n = 200000;
	double best = 1e30;
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = plat_now_ns(), sum = 0;
		for (uint64_t i = 0; i < n; i++) {
			struct rt_task *t = rt_spawn(nothing, i, "nop");
			uint64_t v;
			rt_join(t, &v);
			sum += v;
			rt_reap(t);
		}
		double ns = (double)(plat_now_ns() - t0) / n;
		if (ns < best) best = ns;
		fprintf(stderr, "spawn checksum %lu\n", sum);
	}
	return best;
}

/* ---- deep recursion: 1,000,000 frames, each pointing at its caller's frame ---- */

/* The linked-frame recursion of twins/twin_chain.c, checked once at the
 * bottom, as Go's descend is. */
static uint64_t deep_task(uint64_t frames)
{
	struct chain_job job = { .frames = frames };
	uint64_t v = chain_descend(&job);
	return job.broken ? 0 : v;
}

static void bench_deep(void)
{
	double best = 1e30;
	uint64_t grows = 0;
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = plat_now_ns(), v = 0;
		struct rt_task *t = rt_spawn(deep_task, 1000000, "deep");
		rt_join(t, &v);
		double ms = (double)(plat_now_ns() - t0) / 1e6;
		if (v != chain_expected(1000000)) {
			fprintf(stderr, "deep recursion: the chain of 1,000,000 links came back broken\n");
			exit(1);
		}
		if (ms < best) best = ms;
		grows = t->stats.grows;
		rt_reap(t);
	}
	emit("deep_recursion", "morestack", best, "ms");
	emit("deep_recursion", "morestack", (double)grows, "grows");
}

/* ---- growth ladder: one growth at each size, 4 KiB to 64 MiB ---- */

struct ladder { uint64_t size; uint64_t wall_ns, move_ns, copied; };

/* Uses about `bytes` of stack: frames of 1 KiB. */
__attribute__((noinline)) static uint64_t use_stack(uint64_t bytes)
{
	volatile char pad[1008];
	pad[0] = 1;
	return bytes > 1024 ? use_stack(bytes - 1024) + (uint64_t)pad[0] : (uint64_t)pad[0];
}

static uint64_t ladder_task(uint64_t arg)
{
	struct ladder *l = (struct ladder *)arg;
	struct rt_task *t = rt_current();
	if (l->size > RT_STACK_MIN)
		use_stack(l->size * 3 / 4); /* grow to exactly l->size, then come back */
	if ((uint64_t)(t->stack_hi - t->stack_lo) != l->size)
		return 0;
	use_stack(l->size - 512 - 1024); /* every page of this stack touched once, no growth */
	if ((uint64_t)(t->stack_hi - t->stack_lo) != l->size)
		return 0;
	uint64_t m0 = t->stats.move_ns, c0 = t->stats.bytes_copied + t->stats.bytes_remapped;
	/* Fill the stack but for 512 bytes, then one more frame: one growth.
	 * Then the same call again, on the grown stack: the growth costs the
	 * difference (Go's ladder measures the same way). */
	uint64_t t0 = plat_now_ns();
	use_stack(l->size - 512 + 2048);
	uint64_t t1 = plat_now_ns();
	uint64_t grows = t->stats.grows;
	use_stack(l->size - 512 + 2048);
	uint64_t t2 = plat_now_ns();
	l->wall_ns = (t1 - t0) - (t2 - t1 < t1 - t0 ? t2 - t1 : 0);
	l->move_ns = t->stats.move_ns - m0;
	l->copied = t->stats.bytes_copied + t->stats.bytes_remapped - c0;
	return (uint64_t)(t->stack_hi - t->stack_lo) == 2 * l->size && t->stats.grows == grows;
}

/*
 * The floor under every move on this port: the two mapping changes it
 * makes (map the new stack, unmap the old one), at fresh addresses, with
 * the new pages touched, measured the same way. On a virtual machine
 * whose mapping changes exit to the hypervisor this dominates small moves.
 */
static double mapping_floor_ns(void)
{
	const int n = 2000;
	char *r = mmap(NULL, (size_t)n * 16384, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	uint64_t t0 = plat_now_ns();
	for (int i = 0; i < n; i++) {
		char *p = r + (size_t)i * 16384;
		mmap(p, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		memset(p, 1, 8192);
		mmap(p, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	}
	double ns = (double)(plat_now_ns() - t0) / n;
	munmap(r, (size_t)n * 16384);
	return ns;
}

static void bench_ladder(void)
{
	emit("growth_ladder/4KiB", "linux-map-unmap-floor", mapping_floor_ns() / 1e3, "us/growth");
	bool adaptive = rt_stack_adaptive;
	rt_stack_adaptive = false; /* each growth starts from the size it names */
	for (uint64_t size = 4096; size <= (64UL << 20); size *= 2) {
		struct ladder best = { 0, ~0UL, ~0UL, 0 };
		for (int r = 0; r < RUNS; r++) {
			struct ladder l = { size, 0, 0, 0 };
			uint64_t ok = 0;
			struct rt_task *t = rt_spawn(ladder_task, (uint64_t)&l, "ladder");
			rt_join(t, &ok);
			rt_reap(t);
			if (ok && l.move_ns < best.move_ns)
				best = l;
		}
		char name[64];
		if (size < (1UL << 20))
			snprintf(name, sizeof name, "growth_ladder/%luKiB", size >> 10);
		else
			snprintf(name, sizeof name, "growth_ladder/%luMiB", size >> 20);
		/* morestack: the whole event, fault and signal included (Go's figure is
		 * its whole morestack too); morestack-move: the copy-and-adjust alone. */
		emit(name, "morestack", (double)best.wall_ns / 1e3, "us/growth");
		emit(name, "morestack-move", (double)best.move_ns / 1e3, "us/growth");
		if (best.copied)
			emit(name, "morestack", (double)best.move_ns / (double)best.copied, "ns/byte");
	}
	rt_stack_adaptive = adaptive;
}

/* ---- short-lived tasks: 1,000,000 tasks using 16 KiB of stack each ---- */

static uint64_t use16k(uint64_t x) { return use_stack(16 << 10) + x; }

static void bench_short_lived(void)
{
	const uint64_t n = 1000000;
	uint64_t t0 = plat_now_ns(), sum = 0;
	/* 100 at a time, as a server would have them in flight. */
	struct rt_task *batch[100];
	for (uint64_t i = 0; i < n; i += 100) {
		for (int k = 0; k < 100; k++)
			batch[k] = rt_spawn(use16k, i + (uint64_t)k, "short");
		rt_run();
		for (int k = 0; k < 100; k++) {
			uint64_t v;
			rt_join(batch[k], &v);
			sum += v;
			rt_reap(batch[k]);
		}
	}
	double ms = (double)(plat_now_ns() - t0) / 1e6;
	fprintf(stderr, "short-lived checksum %lu\n", sum);
	emit("short_lived", "morestack", ms, "ms");
	emit("short_lived", "morestack", ms * 1e6 / n, "ns/task");
}

/* ---- hot split: a call in a loop, landing on a stack boundary ---- */

/* The loop is twins/twin_hotsplit.c's, shared with the kernel's hotsplit demo. */
static uint64_t hot_task(uint64_t iters) { return twin_at_boundary(iters); }

static void bench_hot_split(void)
{
	const uint64_t iters = 10000000;
	double best = 1e30;
	uint64_t grows = 0;
	for (int r = 0; r < RUNS; r++) {
		struct rt_task *t = rt_spawn(hot_task, iters, "hot");
		uint64_t t0 = plat_now_ns(), v;
		rt_join(t, &v);
		double ns = (double)(plat_now_ns() - t0) / iters;
		if (ns < best) best = ns;
		grows = t->stats.grows;
		fprintf(stderr, "hot split checksum %lu\n", v);
		rt_reap(t);
	}
	emit("hot_split", "morestack", best, "ns/iter");
	emit("hot_split", "morestack", (double)grows, "grows");
}

/* ---- memory per parked task, at 100,000 tasks ---- */

static struct rt_chan *never;

static uint64_t park_forever(uint64_t x)
{
	uint64_t v;
	rt_chan_recv(never, &v);
	return x + v;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void bench_parked(void)
{
	const uint64_t n = 100000;
	long max_maps = 0;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	if (f) {
		if (fscanf(f, "%ld", &max_maps) != 1)
			max_maps = 0;
		fclose(f);
	}
	if (max_maps < (long)(2 * n + 10000)) {
		/* Each stack and its guard are two mappings for Linux. */
		fprintf(stderr, "parked_mem: vm.max_map_count is %ld, needs %lu: run "
				"'sysctl vm.max_map_count=262144' (root) to measure 100,000 parked tasks\n",
			max_maps, 2 * n + 10000);
		return;
	}
	never = rt_chan_make(8, 0);
	struct rt_heap_stats h0, h1;
	struct rt_global_stats g0, g1;
	rt_heap_get_stats(&h0);
	rt_get_stats(&g0);
	long rss0 = rss_kib();
	static struct rt_task *t[100000];
	for (uint64_t i = 0; i < n; i++)
		t[i] = rt_spawn(park_forever, i, "parked");
	rt_run(); /* every task runs and parks on the channel */
	long rss1 = rss_kib();
	rt_heap_get_stats(&h1);
	rt_get_stats(&g1);
	emit("parked_mem", "morestack", (double)(rss1 - rss0) * 1024.0 / n, "bytes/task");
	emit("parked_mem", "morestack-stack",
	     (double)(g1.stack_bytes_committed - g0.stack_bytes_committed) / n, "bytes/task");
	emit("parked_mem", "morestack-runtime", (double)(h1.bytes_used - h0.bytes_used) / n,
	     "bytes/task");
	rt_chan_close(never); /* wakes them all: they exit */
	rt_run();
	for (uint64_t i = 0; i < n; i++) {
		rt_join(t[i], NULL);
		rt_reap(t[i]);
	}
	rt_chan_free(never);
}

/* ---- defer: a call that defers one call, against plain calls and cleanup ---- */

#define CALLS 20000000UL

__attribute__((noinline)) static void bump(uint64_t *x) { ++*x; }

__attribute__((noinline)) static void plain_call(uint64_t *x)
{
	bump(x);
}

RT_DEFERS static void defers_one(uint64_t *x)
{
	rt_defer((void *)bump, 1, (uint64_t)x);
	RT_RETURN_VOID();
}

static void run_bump(uint64_t **p) { bump(*p); }

/*
 * The floor under any defer that works by hijacking a return address: a
 * function that replaces its own return address with a stub that jumps
 * back to the real one, and does nothing else. Its `ret` goes where the
 * CPU's return-stack buffer did not predict, every time.
 */
uintptr_t hijack_real_return; /* read by hijack_stub */
void hijack_stub(void);
__asm__(".text\n.globl hijack_stub\nhijack_stub:\n\tjmp *hijack_real_return(%rip)\n");

__attribute__((noinline, optimize("no-omit-frame-pointer"))) static void hijacked(uint64_t *x)
{
	uintptr_t *ra = (uintptr_t *)__builtin_frame_address(0) + 1;
	hijack_real_return = *ra;
	*ra = (uintptr_t)hijack_stub;
	bump(x);
}

/*
 * The floor under any defer a library can give C without the compiler's
 * help: one call to register the deferred call, one to run it at the
 * return, and the indirect call itself; nothing kept but one slot. (Go's
 * open-coded defer needs neither call: its compiler reserves the slots in
 * the frame and inlines both steps.)
 */
static struct { void (*fn)(uint64_t *); uint64_t *arg; } library_slot;
__attribute__((noipa)) static void library_register(void (*fn)(uint64_t *), uint64_t *arg)
{
	library_slot.fn = fn;
	library_slot.arg = arg;
}
__attribute__((noipa)) static void library_run(void) { library_slot.fn(library_slot.arg); }
__attribute__((noipa)) static void library_defer(uint64_t *x)
{
	library_register(bump, x);
	library_run();
}

/*
 * The same with a record kept, the least any defer that lets a function
 * defer on some paths and not others must keep: the deferring frame, the
 * function and its argument, pushed on a stack of records and popped at
 * the return (and the frame checked against the top record, so a frame
 * with nothing deferred runs nothing).
 */
static struct library_rec { uintptr_t frame; void (*fn)(uint64_t *); uint64_t *arg; } library_recs[64];
static unsigned library_top;
__attribute__((noipa)) static void library_push(uintptr_t frame, void (*fn)(uint64_t *), uint64_t *arg)
{
	library_recs[library_top++] = (struct library_rec){ frame, fn, arg };
}
__attribute__((noipa)) static void library_pop(uintptr_t frame)
{
	while (library_top && library_recs[library_top - 1].frame == frame) {
		struct library_rec *r = &library_recs[--library_top];
		r->fn(r->arg);
	}
}
__attribute__((noipa)) static void library_record_defer(uint64_t *x)
{
	library_push((uintptr_t)__builtin_frame_address(0), bump, x);
	library_pop((uintptr_t)__builtin_frame_address(0));
}

/* gcc's __attribute__((cleanup)): a call at scope exit, decided at compile time. */
__attribute__((noinline)) static void cleanup_one(uint64_t *x)
{
	uint64_t *guard __attribute__((cleanup(run_bump))) = x;
	__asm__ volatile("" : : "r"(guard) : "memory");
}

static double time_calls(void (*fn)(uint64_t *), uint64_t n)
{
	double best = 1e30;
	for (int r = 0; r < RUNS; r++) {
		uint64_t x = 0, t0 = plat_now_ns();
		for (uint64_t i = 0; i < n; i++)
			fn(&x);
		double ns = (double)(plat_now_ns() - t0) / n;
		if (x != n) {
			fprintf(stderr, "defer bench: counted %lu of %lu\n", x, n);
			exit(1);
		}
		if (ns < best) best = ns;
	}
	return best;
}

static void bench_defer(void)
{
	emit("defer", "morestack", time_calls(defers_one, CALLS / 4), "ns/call");
	emit("defer", "c-plain-call", time_calls(plain_call, CALLS), "ns/call");
	emit("defer", "c-cleanup-attribute", time_calls(cleanup_one, CALLS), "ns/call");
	emit("defer", "return-hijack-floor", time_calls(hijacked, CALLS), "ns/call");
	emit("defer", "library-call-floor", time_calls(library_defer, CALLS), "ns/call");
	emit("defer", "library-record-floor", time_calls(library_record_defer, CALLS), "ns/call");
}

/* ---- closure: a call through a trampoline, against direct and indirect calls ---- */

RT_CLOSURE_CODE(count_up, uint64_t);
uint64_t count_up_body(void *env) { return ++*(uint64_t *)env; }

static uint64_t counter_x;
__attribute__((noinline)) static uint64_t count_direct(void) { return ++counter_x; }

static double time_fn(uint64_t (*volatile *fp)(void), uint64_t n, uint64_t *counter)
{
	double best = 1e30;
	for (int r = 0; r < RUNS; r++) {
		*counter = 0;
		uint64_t (*f)(void) = *fp, t0 = plat_now_ns(), v = 0;
		for (uint64_t i = 0; i < n; i++)
			v = f();
		double ns = (double)(plat_now_ns() - t0) / n;
		if (v != n) {
			fprintf(stderr, "closure bench: counted %lu of %lu\n", v, n);
			exit(1);
		}
		if (ns < best) best = ns;
	}
	return best;
}

static void bench_closure(void)
{
	uint64_t x = 0;
	static uint64_t (*volatile fp)(void);
	fp = (uint64_t (*)(void))rt_closure_new(count_up, &x);
	emit("closure", "morestack", time_fn(&fp, CALLS, &x), "ns/call");
	rt_closure_free((void *)fp);
	fp = count_direct; /* through a pointer: an indirect call */
	emit("closure", "c-indirect-call", time_fn(&fp, CALLS, &counter_x), "ns/call");
	double best = 1e30;
	for (int r = 0; r < RUNS; r++) {
		counter_x = 0;
		uint64_t t0 = plat_now_ns(), v = 0;
		for (uint64_t i = 0; i < CALLS; i++)
			v = count_direct();
		double ns = (double)(plat_now_ns() - t0) / CALLS;
		if (v != CALLS)
			exit(1);
		if (ns < best) best = ns;
	}
	emit("closure", "c-direct-call", best, "ns/call");
}

/* ---- closure_grow: one 4->8 KiB growth, the closure pool empty and full ---- */

/* The move adjusts the environments that live in the moving stack; with the
 * pool full of closures over heap environments it must not cost more. */
static void bench_closure_grow(void)
{
	enum { POOL = 4096 * 64 }; /* the pool's maximum, see closure.c */
	static void *fns[POOL];
	uint64_t *x = rt_alloc(sizeof *x);
	rt_stack_adaptive = false; /* the growth measured is 4 -> 8 KiB */
	for (int full = 0; full < 2; full++) {
		uint64_t n = 0;
		while (full && n < POOL && (fns[n] = rt_closure_new(count_up, x)))
			n++;
		struct ladder best = { 0, ~0UL, ~0UL, 0 };
		for (int r = 0; r < RUNS; r++) {
			struct ladder l = { 4096, 0, 0, 0 };
			uint64_t ok = 0;
			struct rt_task *t = rt_spawn(ladder_task, (uint64_t)&l, "closure_grow");
			rt_join(t, &ok);
			rt_reap(t);
			if (!ok) {
				fprintf(stderr, "closure_grow: the task did not grow 4->8 KiB\n");
				exit(1);
			}
			if (l.move_ns < best.move_ns)
				best = l;
		}
		char name[64];
		snprintf(name, sizeof name, "closure_grow/%lu", n);
		emit(name, "morestack", (double)best.wall_ns / 1e3, "us/growth");
		emit(name, "morestack-move", (double)best.move_ns / 1e3, "us/growth");
		fprintf(stderr, "closure_grow: %lu live closures\n", n);
		for (uint64_t i = 0; i < n; i++)
			rt_closure_free(fns[i]);
	}
	rt_free(x);
	rt_stack_adaptive = true;
}

int main(int argc, char **argv)
{
	host_init();
	const char *only = argc > 1 ? argv[1] : NULL;
#define RUN(name, call) if (!only || strcmp(only, name) == 0) call
	RUN("switch", emit("switch", "morestack", bench_switch(), "ns/switch"));
	RUN("switch", emit("switch", "morestack-chan", bench_chan(), "ns/switch"));
	RUN("spawn", emit("spawn", "morestack", bench_spawn(), "ns/spawn"));
	RUN("deep", bench_deep());
	RUN("ladder", bench_ladder());
	RUN("hot", bench_hot_split());
	RUN("short", bench_short_lived());
	RUN("parked", bench_parked());
	RUN("defer", bench_defer());
	RUN("closure", bench_closure());
	RUN("closure_grow", bench_closure_grow());
	/* The other stack policies, for the figures they change: every stack
	 * at fresh addresses and unmapped when done (Go's stackFaultOnFree),
	 * every task starting at one page; parked tasks keeping their stacks. */
	rt_set_stack_fault_on_free(true);
	rt_stack_adaptive = false;
	policy = "-fault-on-free";
	RUN("spawn-fof", emit("spawn", "morestack", bench_spawn(), "ns/spawn"));
	RUN("short-fof", bench_short_lived());
	/* And parked tasks keeping their stacks. */
	rt_set_stack_fault_on_free(false);
	rt_stack_hibernation = false;
	policy = "-no-hibernation";
	RUN("parked-nohib", bench_parked());
	return 0;
}
