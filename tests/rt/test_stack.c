/*
 * test_stack.c: growable stacks on the Linux host port: deep recursion
 * with pointers between frames, large frames, shrinking, the limit, stale
 * pointers, faults that kill only their task, and many tasks at once.
 */
#include "rt_test.h"

#include <time.h>

#include "chan.h"
#include "closure.h"
#include "defer.h"
#include "twins.h"

/* ---- 1,000,000 frames, each pointing at its caller's locals ---- */

/* The linked-frame recursion of twins/twin_chain.c, checking the whole
 * chain after every growth it sees. */
static struct chain_job deep_job;

static uint64_t deep_task(uint64_t frames)
{
	deep_job = (struct chain_job){ .frames = frames, .check_moves = true };
	uint64_t v = chain_descend(&deep_job);
	if (deep_job.broken)
		fail_msg("%lu broken links found in a %lu-frame chain", deep_job.broken, frames);
	return v;
}

static void test_million_frames(void **state)
{
	(void)state;
	rt_test_setup();
	const uint64_t n = 1000000;
	uint64_t expect = 0, value = 0;
	expect = chain_expected(n);
	struct rt_task *t = rt_spawn(deep_task, n, "deep");
	assert_non_null(t);
	assert_int_equal(rt_join(t, &value), RT_EXIT_RETURNED);
	assert_true(value == expect);
	/* 4 KiB doubling to hold ~1M frames of at least 48 bytes: >= 14 moves. */
	assert_true(t->stats.grows >= 14);
	/* A check after each growth the recursion saw (the move-stress switch
	 * may move it twice between two calls: one check for both). */
	assert_true(deep_job.checks >= 15 && deep_job.checks <= t->stats.grows + 1);
	assert_true(t->stats.high_water >= n * 48);
	assert_true(t->stats.pointers_adjusted >= n);
	rt_reap(t);
}

/* ---- a pointer to a local, passed down, stays valid across moves ---- */

__attribute__((noinline)) static void write_through(uint64_t *p, uint64_t depth)
{
	volatile char pad[100];
	pad[0] = 1;
	if (depth)
		write_through(p, depth - 1);
	else
		*p = 0x600df00d;
	(void)pad[0];
}

/* In a global: a local holding the address would be adjusted with the stack. */
static uintptr_t passdown_before;

static uint64_t passed_down_task(uint64_t arg)
{
	uint64_t local = 0;
	passdown_before = (uintptr_t)&local;
	write_through(&local, arg);
	struct rt_task *t = rt_current();
	/* The task moved: &local is a different address now, and holds the value. */
	return local == 0x600df00d && (uintptr_t)&local != passdown_before && t->stats.grows > 0;
}

static void test_pointer_passed_down_is_adjusted(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(passed_down_task, 20000, "passdown");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_reap(t);
}

/* ---- a frame larger than the guard: stack-clash probes + register adjust ---- */

__attribute__((noinline)) static uint64_t big_frame(uint64_t seed)
{
	volatile uint8_t big[64 << 10];
	for (size_t i = 0; i < sizeof big; i += 512)
		big[i] = (uint8_t)(seed + i);
	uint64_t sum = 0;
	for (size_t i = 0; i < sizeof big; i += 512)
		sum += big[i];
	return sum;
}

static uint64_t big_frame_task(uint64_t seed)
{
	return big_frame(seed);
}

static void test_64k_frame_grows(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t expect = 0, got = 0;
	for (size_t i = 0; i < (64 << 10); i += 512)
		expect += (uint8_t)(7 + i);
	struct rt_task *t = rt_spawn(big_frame_task, 7, "bigframe");
	assert_int_equal(rt_join(t, &got), RT_EXIT_RETURNED);
	assert_true(got == expect);
	/* The probe loop's end address tells the whole frame at its first
	 * fault: 4K -> 128K at once (it took five doublings before). */
	assert_true(t->stats.grows >= 1 && (rt_stress_moves || t->stats.grows <= 2)); /* stress adds moves */
	assert_true(t->stats.high_water >= (64 << 10));
	rt_reap(t);
}

/* ---- the red zone: live data below %rsp must move with the stack ---- */

/*
 * With %rsp 64 bytes above the bottom of the stack, store into the red zone
 * at -8 (mapped) and at -120 (in the guard: the stack grows), then read both
 * back. A move that copied only from %rsp up would lose the first.
 */
static uint64_t red_zone_task(uint64_t arg)
{
	(void)arg;
	uint64_t a, b, adj;
	uintptr_t lo = rt_current()->stack_lo;
	__asm__ volatile("mov %%rsp, %[adj]\n\t"
			 "sub %[lo], %[adj]\n\t"
			 "sub $64, %[adj]\n\t"
			 "sub %[adj], %%rsp\n\t"
			 "movq $0x1111, -8(%%rsp)\n\t"
			 "movq $0x2222, -120(%%rsp)\n\t"
			 "mov -8(%%rsp), %[a]\n\t"
			 "mov -120(%%rsp), %[b]\n\t"
			 "add %[adj], %%rsp"
			 : [adj] "=&r"(adj), [a] "=&r"(a), [b] "=&r"(b)
			 : [lo] "r"(lo)
			 : "memory");
	return a == 0x1111 && b == 0x2222 && rt_current()->stats.grows >= 1; /* stress may add moves */
}

static void test_red_zone_moves_with_the_stack(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(red_zone_task, 0, "redzone");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_reap(t);
}

/* ---- shrinking: a task that stops using its big stack gets it halved ---- */

static uint64_t shrink_task(uint64_t arg)
{
	(void)arg;
	uint64_t sink = 0;
	sink += deep_task(20000); /* grows to about 2 MiB */
	struct rt_task *t = rt_current();
	uint64_t big = t->stack_hi - t->stack_lo;
	for (int i = 0; i < 20; i++)
		rt_yield();
	uint64_t small = t->stack_hi - t->stack_lo;
	/* Under the move-stress switch a tick may have moved it to a bigger one since. */
	bool shrunk = rt_stress_moves ? small <= 4 * RT_STACK_MIN : small == RT_STACK_MIN;
	return (big >= (1 << 20)) && shrunk && t->stats.shrinks >= 8 && sink;
}

static uint64_t spin_task(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rt_yield();
	return n;
}

static void test_shrink_on_yield(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(shrink_task, 0, "shrink");
	struct rt_task *other = rt_spawn(spin_task, 40, "spin");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_join(other, NULL);
	rt_reap(t);
	rt_reap(other);
}

/* ---- the limit: runaway recursion kills only its task, in Go's words ---- */

static volatile uint64_t forever_stop = ~0UL; /* never reached: the limit comes first */

__attribute__((noinline)) static uint64_t forever(uint64_t n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	if (n == forever_stop)
		return 0;
	return forever(n + 1) + pad[0];
}

static void test_limit_kills_only_that_task(void **state)
{
	(void)state;
	rt_test_setup();
	rt_stack_limit = 8 << 20;
	struct rt_task *bad = rt_spawn(forever, 0, "runaway");
	struct rt_task *good = rt_spawn(spin_task, 100, "bystander");
	uint64_t v = 0;
	assert_int_equal(rt_join(bad, NULL), RT_EXIT_KILLED);
	assert_int_equal(rt_join(good, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 100);
	expect_console("runtime: goroutine stack exceeds 8388608-byte limit");
	expect_console("fatal error: stack overflow");
	expect_console("killed: stack overflow; the other tasks go on");
	expect_console("\nruntime: sp=0x"); /* Go's words and layout: sp=... stack=[lo, hi] */
	expect_console(" stack=[0x");
	rt_reap(bad);
	rt_reap(good);
}

/* ---- a pointer to a local kept in a global goes stale when the stack moves ---- */

static uint64_t *volatile escaped;

static uint64_t escape_task(uint64_t arg)
{
	uint64_t local = 42;
	escaped = &local;         /* C lets us; Go would move `local` to the heap */
	write_through(&local, arg); /* grows: `local` moves, `escaped` does not */
	return *escaped;          /* reads the old, unmapped stack: faults */
}

static void test_stale_global_pointer_faults_with_report(void **state)
{
	(void)state;
	rt_test_setup();
	rt_set_stack_fault_on_free(true); /* the old stack is unmapped, never reused */
	struct rt_task *t = rt_spawn(escape_task, 20000, "escape");
	assert_int_equal(rt_join(t, NULL), RT_EXIT_KILLED);
	char want[160];
	snprintf(want, sizeof want, "runtime:   address %#lx\n", (uintptr_t)escaped);
	expect_console(want);
	snprintf(want, sizeof want, "runtime:   is in task %lu's old stack [", t->id);
	expect_console(want);
	expect_console("runtime:   moved by growth (move 1) to [");
	expect_console("runtime:   the task's stack is now [");
	expect_console("went stale");
	rt_reap(t);
}

/* ---- the stack cache: stacks come back cleared, are reused, and stay bounded ---- */

/* Fills `bytes` of its stack below its own frame with a pattern, then returns. */
__attribute__((noinline)) static uint64_t scribble(uint64_t bytes)
{
	volatile uint64_t *p = RT_ALLOCA(bytes);
	for (uint64_t i = 0; i < bytes / 8; i++)
		p[i] = 0xdeadbeefcafef00dULL ^ i;
	return p[0] != 0;
}

static uint64_t scribble_task(uint64_t bytes) { return scribble(bytes); }

/* Counts the non-zero words between its stack's low end and its own frame. */
static uint64_t count_dirty_task(uint64_t unused)
{
	(void)unused;
	struct rt_task *t = rt_current();
	uintptr_t below = (uintptr_t)__builtin_frame_address(0) - 512;
	uint64_t dirty = 0;
	for (const volatile uint64_t *p = (const uint64_t *)t->stack_lo; (uintptr_t)p < below; p++)
		dirty += *p != 0;
	return dirty;
}

static void test_cached_stacks_come_back_all_zero(void **state)
{
	(void)state;
	rt_test_setup();
	/* Sizes just under, at and over a page, and up to the largest cached size. */
	static const uint64_t sizes[] = { 100, 4000, 4096 - 512, 4096, 7000, 12288, 20000, 30000 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct rt_global_stats before, after;
		uint64_t v = 0;
		struct rt_task *a = rt_spawn(scribble_task, sizes[i], "scribble");
		assert_non_null(a);
		assert_int_equal(rt_join(a, &v), RT_EXIT_RETURNED);
		rt_reap(a);
		rt_get_stats(&before);
		/* The next 4 KiB stack is the one a just gave back, if a ended on 4 KiB;
		 * whichever it is, every word below the new task's frame is zero. */
		struct rt_task *b = rt_spawn(count_dirty_task, 0, "check");
		assert_non_null(b);
		assert_int_equal(rt_join(b, &v), RT_EXIT_RETURNED);
		rt_get_stats(&after);
		if (v != 0)
			fail_msg("a stack from the cache held %lu non-zero words after a task wrote %lu bytes",
				 v, sizes[i]);
		assert_true(after.stack_cache_hits == before.stack_cache_hits + 1);
		rt_reap(b);
	}
}

/*
 * With the cache off (fault-on-free), a finished task's stack goes back to
 * the platform, which keeps its pooled pages zeroed by clearing only what
 * the task wrote (plat_decommit's written_from) and clears nothing when it
 * hands them out again. Random amounts written, seeded; the next task on
 * recycled pages must find them all zero.
 */
static void test_recycled_pages_come_back_all_zero(void **state)
{
	(void)state;
	rt_test_setup();
	rt_set_stack_fault_on_free(true);
	uint64_t seed = (uint64_t)time(NULL), x = seed;
	for (int i = 0; i < 200; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t bytes = i < 4 ? (uint64_t[]){ 8, 4096 - 512, 4096, 30000 }[i] : 8 + (x >> 33) % 30000;
		uint64_t v = 0;
		struct rt_task *a = rt_spawn(scribble_task, bytes, "scribble");
		assert_non_null(a);
		assert_int_equal(rt_join(a, &v), RT_EXIT_RETURNED);
		rt_reap(a);
		struct rt_task *b = rt_spawn(count_dirty_task, 0, "check");
		assert_non_null(b);
		assert_int_equal(rt_join(b, &v), RT_EXIT_RETURNED);
		rt_reap(b);
		if (v != 0)
			fail_msg("seed %lu, round %d: a stack on recycled pages held %lu non-zero words after "
				 "a task wrote %lu bytes", seed, i, v, bytes);
	}
	rt_set_stack_fault_on_free(false);
}

/* Parks holding `bytes` of stack (over a quarter of its stack: it is not shrunk while parked). */
__attribute__((noinline)) static uint64_t hold_and_park(uint64_t bytes)
{
	volatile uint64_t *p = RT_ALLOCA(bytes);
	p[0] = 1;
	rt_park();
	return p[0];
}

static uint64_t park_task(uint64_t bytes) { return hold_and_park(bytes); }

/* Runs n tasks that each park holding `bytes`, then lets them all finish. */
static void park_and_release(int n, uint64_t bytes)
{
	static struct rt_task *ts[1024];
	assert_true(n <= 1024);
	for (int i = 0; i < n; i++) {
		ts[i] = rt_spawn(park_task, bytes, "parked");
		assert_non_null(ts[i]);
	}
	rt_run();
	for (int i = 0; i < n; i++)
		rt_ready(ts[i]);
	for (int i = 0; i < n; i++) {
		assert_int_equal(rt_join(ts[i], NULL), RT_EXIT_RETURNED);
		rt_reap(ts[i]);
	}
}

static void test_stack_cache_is_bounded_and_reused(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_global_stats g0, g;
	/* 200 tasks end on 8 KiB stacks (and leave 4 KiB ones behind): all cached. */
	rt_get_stats(&g0);
	park_and_release(200, 5000);
	rt_get_stats(&g);
	assert_true(g.stack_bytes_cached - g0.stack_bytes_cached >= 200 * 8192);
	/* 700 tasks on 32 KiB stacks: 22 MiB, more than the cache keeps (16 MiB). */
	for (int round = 0; round < 2; round++) {
		park_and_release(700, 20000);
		rt_get_stats(&g);
		assert_true(g.stack_bytes_cached <= (16UL << 20));
		assert_true(g.stack_bytes_cached >= (16UL << 20) - (32 << 10));
	}
	/* A third round takes its stacks from the cache: few new addresses. */
	uint64_t va = g.stack_va_used, hits = g.stack_cache_hits;
	park_and_release(700, 20000);
	rt_get_stats(&g);
	assert_true(g.stack_cache_hits - hits >= 500);
	assert_true(g.stack_va_used - va <= 200UL * 2 * (64 << 10));
}

/* ---- large growths move pages, not bytes, and every pointer still holds ---- */

static struct chain_job big_job;

static uint64_t big_frames_task(uint64_t frames)
{
	big_job = (struct chain_job){ .frames = frames, .frame_bytes = 1000, .check_moves = true };
	return chain_descend(&big_job);
}

static void test_large_growths_remap_pages(void **state)
{
	(void)state;
	rt_test_setup();
	/* 2,000 frames of about 1 KiB: 2 MiB, through every size from 4 KiB. */
	uint64_t v = 0;
	struct rt_task *t = rt_spawn(big_frames_task, 2000, "big");
	assert_non_null(t);
	assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
	assert_true(v == chain_expected(2000));
	assert_int_equal(big_job.broken, 0);
	assert_true(big_job.checks >= 8);
	/* Growths from 64 KiB on moved their used pages (about 64 KiB + 128 +
	 * ... + 1 MiB); the smaller ones copied theirs. */
	assert_true(t->stats.bytes_remapped >= (1UL << 20));
	if (!rt_stress_moves) /* stress moves to same-size or smaller stacks copy, whatever their size */
		assert_true(t->stats.bytes_copied > 0 && t->stats.bytes_copied < (64UL << 10));
	rt_reap(t);
}

/* ---- hibernation: parked tasks give their stacks back, and wake intact ---- */

enum { HIB_N = 1000, HIB_FRAMES = 12 };
static struct chain_job hib_jobs[HIB_N];
static struct rt_chan *hib_chan;
static uint64_t hib_got_sum;

/* A chain of 12 linked frames, parked at the bottom; then a receive,
 * parked with its element in this stack. */
static uint64_t hib_task(uint64_t i)
{
	hib_jobs[i] = (struct chain_job){ .frames = HIB_FRAMES, .park = true, .check_moves = true };
	uint64_t v = chain_descend(&hib_jobs[i]);
	uint64_t got = 0;
	if (!rt_chan_recv(hib_chan, &got))
		return 0;
	hib_got_sum += got;
	return v;
}

static uint64_t count_hibernated(struct rt_task **ts, int n, uint64_t *image_bytes)
{
	uint64_t h = 0;
	*image_bytes = 0;
	for (int i = 0; i < n; i++)
		if (ts[i]->image) {
			assert_true(ts[i]->stack_lo == 0 && ts[i]->state == RT_PARKED);
			h++;
			*image_bytes += ts[i]->image_bytes;
		}
	return h;
}

static void test_parked_tasks_hibernate_and_wake_intact(void **state)
{
	(void)state;
	rt_test_setup();
	rt_stack_hibernation = true;
	static struct rt_task *ts[HIB_N];
	struct rt_global_stats g0, g1;
	uint64_t img;
	hib_chan = rt_chan_make(sizeof(uint64_t), HIB_N);
	hib_got_sum = 0;
	rt_get_stats(&g0);
	for (int i = 0; i < HIB_N; i++)
		ts[i] = rt_spawn(hib_task, (uint64_t)i, "sleeper");
	rt_run(); /* all park at the bottom of their chains; then nothing can run: they hibernate */
	assert_int_equal(count_hibernated(ts, HIB_N, &img), HIB_N);
	rt_get_stats(&g1);
	assert_true(g1.stack_bytes_committed == g0.stack_bytes_committed); /* no stack held */
	assert_true(img <= HIB_N * 1024UL && g1.image_bytes_used - g0.image_bytes_used == img);
	for (int i = 0; i < HIB_N; i++)
		rt_ready(ts[i]);
	rt_run(); /* they wake, unwind, check their chains, park in the receive, hibernate again */
	assert_int_equal(count_hibernated(ts, HIB_N, &img), HIB_N);
	uint64_t want = 0;
	for (uint64_t i = 0; i < HIB_N; i++) { /* each value lands in a sleeping receiver's image */
		uint64_t v = 0x1000 + i * 7;
		rt_chan_send(hib_chan, &v);
		want += v;
	}
	rt_run();
	for (int i = 0; i < HIB_N; i++) {
		uint64_t v = 0;
		assert_int_equal(rt_join(ts[i], &v), RT_EXIT_RETURNED);
		assert_true(v == chain_expected(HIB_FRAMES));
		assert_int_equal(hib_jobs[i].broken, 0);
		assert_true(ts[i]->stats.hibernations == 2);
		rt_reap(ts[i]);
	}
	assert_true(hib_got_sum == want);
	rt_get_stats(&g1);
	assert_true(g1.image_bytes_used == g0.image_bytes_used); /* every image given back */
	rt_chan_free(hib_chan);
}

/* Defer records and closures over a sleeping task's locals follow it. */
RT_CLOSURE_CODE(hib_read_env, uint64_t);
uint64_t hib_read_env_body(void *env) { return *(volatile uint64_t *)env; }

static uint64_t hib_deferred_saw;
static void hib_note(uint64_t *p) { hib_deferred_saw = *p; }

RT_DEFERS static uint64_t hib_defer_fn(uint64_t unused)
{
	(void)unused;
	uint64_t local = 5;
	uint64_t (*f)(void) = rt_closure_new(hib_read_env, &local);
	if (!f || rt_defer((void *)hib_note, 1, (uint64_t)&local) != 0)
		RT_RETURN(0);
	rt_park();
	local++;
	uint64_t seen = f();
	rt_closure_free((void *)f);
	RT_RETURN(seen);
}

static void test_hibernation_keeps_defers_and_closures(void **state)
{
	(void)state;
	rt_test_setup();
	rt_stack_hibernation = true;
	hib_deferred_saw = 0;
	struct rt_task *t = rt_spawn(hib_defer_fn, 0, "deferring");
	rt_run();
	assert_true(t->image != 0); /* asleep with a deferred call and a closure over its stack */
	rt_ready(t);
	uint64_t v = 0;
	assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 6);
	assert_int_equal(hib_deferred_saw, 6);
	rt_reap(t);
}

/* From a task, rt_hibernate_parked puts the others to sleep at once; off, nothing sleeps. */
static uint64_t hib_caller(uint64_t n)
{
	rt_yield(); /* the others park first */
	return rt_hibernate_parked() + 0 * n;
}

static uint64_t hib_parker(uint64_t x)
{
	rt_park();
	return x;
}

static void test_hibernate_from_a_task_and_off(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_task *p[3];
	for (int i = 0; i < 3; i++)
		p[i] = rt_spawn(hib_parker, (uint64_t)i, "parker");
	struct rt_task *c = rt_spawn(hib_caller, 0, "caller");
	uint64_t n = 0;
	assert_int_equal(rt_join(c, &n), RT_EXIT_RETURNED); /* hibernation off: only the call sleeps them */
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_true(p[i]->image != 0);
		rt_ready(p[i]);
		uint64_t v = 99;
		assert_int_equal(rt_join(p[i], &v), RT_EXIT_RETURNED);
		assert_int_equal(v, (uint64_t)i);
		rt_reap(p[i]);
	}
	rt_reap(c);
	/* Off, an idle scheduler leaves parked tasks their stacks. */
	struct rt_task *q = rt_spawn(hib_parker, 42, "parker");
	rt_run();
	assert_true(q->image == 0 && q->stack_lo != 0);
	rt_ready(q);
	rt_join(q, NULL);
	rt_reap(q);
}

/* ---- adaptive first stacks: per entry function, bounded, switchable ---- */

static uint64_t first_size_task(uint64_t bytes)
{
	struct rt_task *t = rt_current();
	uint64_t first = t->stack_hi - t->stack_lo;
	scribble(bytes);
	return first;
}

static uint64_t other_task(uint64_t bytes) { return first_size_task(bytes); }

static uint64_t run_one(rt_func fn, uint64_t arg, uint64_t *grows)
{
	uint64_t first = 0;
	struct rt_task *t = rt_spawn(fn, arg, "adaptive");
	assert_non_null(t);
	assert_int_equal(rt_join(t, &first), RT_EXIT_RETURNED);
	*grows = t->stats.grows;
	rt_reap(t);
	return first;
}

static void test_adaptive_first_stack(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t grows;
	rt_stack_adaptive = true;
	/* Unknown function: one page, and it grows to hold 12 KiB. */
	assert_int_equal(run_one(first_size_task, 12000, &grows), RT_STACK_MIN);
	assert_true(grows >= 1);
	/* Known now: it starts big enough and does not grow. */
	uint64_t first = run_one(first_size_task, 12000, &grows);
	assert_true(first >= 16384 && first <= 32768);
	assert_int_equal(grows, 0);
	/* Another function is not affected. */
	assert_int_equal(run_one(other_task, 100, &grows), RT_STACK_MIN);
	/* Never above 32 KiB, however much the function used. */
	run_one(first_size_task, 200000, &grows);
	run_one(first_size_task, 200000, &grows);
	first = run_one(first_size_task, 200000, &grows);
	assert_int_equal(first, 32768);
	/* Never above the stack limit. */
	assert_int_equal(rt_set_stack_limit(16384), 0);
	first = run_one(first_size_task, 100, &grows);
	assert_true(first <= 16384);
	rt_stack_limit = RT_STACK_LIMIT_DEFAULT;
	/* Tasks that use little bring it back down (the average moves by a quarter). */
	for (int i = 0; i < 40; i++)
		run_one(first_size_task, 100, &grows);
	assert_int_equal(run_one(first_size_task, 100, &grows), RT_STACK_MIN);
	/* Off: one page again. */
	run_one(first_size_task, 12000, &grows);
	run_one(first_size_task, 12000, &grows);
	rt_stack_adaptive = false;
	assert_int_equal(run_one(first_size_task, 12000, &grows), RT_STACK_MIN);
}

static void test_fault_on_free_never_reuses_addresses(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_global_stats g0, g1;
	struct rt_task *t = rt_spawn(scribble_task, 100, "warm");
	assert_int_equal(rt_join(t, NULL), RT_EXIT_RETURNED);
	rt_reap(t);
	rt_get_stats(&g0);
	assert_true(g0.stack_bytes_cached > 0);
	/* With the cache: 50 tasks growing 4 -> 8 KiB take no new addresses. */
	for (int i = 0; i < 50; i++) {
		t = rt_spawn(scribble_task, 6000, "cached");
		assert_int_equal(rt_join(t, NULL), RT_EXIT_RETURNED);
		rt_reap(t);
	}
	rt_get_stats(&g1);
	assert_true(g1.stack_va_used - g0.stack_va_used <= 2 * (64 << 10));
	/* Turned on, it empties the cache, and every stack takes new addresses
	 * (each stack's top is 64 KiB aligned: at least 64 KiB apiece). */
	rt_set_stack_fault_on_free(true);
	rt_get_stats(&g0);
	assert_true(g0.stack_bytes_cached == 0);
	for (int i = 0; i < 50; i++) {
		t = rt_spawn(scribble_task, 6000, "fresh");
		assert_int_equal(rt_join(t, NULL), RT_EXIT_RETURNED);
		rt_reap(t);
	}
	rt_get_stats(&g1);
	assert_true(g1.stack_bytes_cached == 0);
	assert_true(g1.stack_va_used - g0.stack_va_used >= 100 * (64 << 10));
	rt_set_stack_fault_on_free(false);
}

/* ---- any other fault in a task kills that task alone ---- */

/* Reads a field at offset 16 of a nil struct pointer (UBSan would stop a plain NULL load). */
static uint64_t null_task(uint64_t arg)
{
	return *(volatile uint64_t *)(arg + 16);
}

static void test_null_dereference_kills_only_the_task(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_task *bad = rt_spawn(null_task, 0, "nil");
	struct rt_task *good = rt_spawn(spin_task, 10, "bystander");
	assert_int_equal(rt_join(bad, NULL), RT_EXIT_KILLED);
	uint64_t v = 0;
	assert_int_equal(rt_join(good, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 10);
	/* A nil dereference is a Go runtime panic; nothing recovers it here. */
	expect_console("panic: runtime error: invalid memory address or nil pointer dereference\n");
	char want[48];
	snprintf(want, sizeof want, "goroutine %lu [running]:\n", bad->id);
	expect_console(want);
	expect_console("  null_task+0x"); /* the faulting function heads the trace */
	rt_reap(bad);
	rt_reap(good);
}

/* ---- 1,000 tasks growing and shrinking to random depths, interleaved ---- */

static struct rt_chan *churn_chan;
static uint64_t churn_sent, churn_received;

/* Six rounds: grow to a random depth and back, yield, pass a token through a channel. */
static uint64_t churn_task(uint64_t seed)
{
	uint64_t x = seed, acc = 0;
	for (int round = 0; round < 6; round++) {
		x = chain_mix(x + round);
		uint64_t depth = 1 + x % 3000, token = x, got;
		acc ^= deep_task(depth);
		rt_yield();
		rt_chan_send(churn_chan, &token);
		churn_sent += token;
		assert_true(rt_chan_recv(churn_chan, &got));
		churn_received += got;
	}
	return acc;
}

static uint64_t churn_expect(uint64_t seed)
{
	uint64_t x = seed, acc = 0;
	for (int round = 0; round < 6; round++) {
		x = chain_mix(x + round);
		acc ^= chain_expected(1 + x % 3000);
	}
	return acc;
}

static void test_thousand_tasks_grow_and_shrink(void **state)
{
	(void)state;
	rt_test_setup();
	enum { N = 1000 };
	static struct rt_task *tasks[N];
	struct rt_global_stats before, after;
	struct rt_heap_stats hb, ha;
	rt_get_stats(&before);
	rt_heap_get_stats(&hb);
	churn_chan = rt_chan_make(8, 16);
	churn_sent = churn_received = 0;
	for (int i = 0; i < N; i++)
		assert_non_null(tasks[i] = rt_spawn(churn_task, 1000 + i, "churn"));
	rt_run();
	uint64_t grows = 0, shrinks = 0;
	for (int i = 0; i < N; i++) {
		uint64_t v = 0;
		assert_int_equal(rt_join(tasks[i], &v), RT_EXIT_RETURNED);
		assert_true(v == churn_expect(1000 + i));
		grows += tasks[i]->stats.grows;
		shrinks += tasks[i]->stats.shrinks;
		rt_reap(tasks[i]);
	}
	assert_true(grows > N);
	assert_true(shrinks > N / 2);
	assert_true(churn_sent == churn_received);
	rt_chan_free(churn_chan);
	rt_get_stats(&after);
	rt_heap_get_stats(&ha);
	/* No stack memory or task record outlives its task. */
	assert_int_equal(after.stack_bytes_committed, before.stack_bytes_committed);
	assert_int_equal(after.tasks_live, before.tasks_live);
	assert_int_equal(ha.objects_live, hb.objects_live);
}

/* ---- the trace switch logs every move ---- */

static void test_trace_logs_moves(void **state)
{
	(void)state;
	rt_test_setup();
	rt_trace_moves = true;
	struct rt_task *t = rt_spawn(deep_task, 200, "traced");
	rt_join(t, NULL);
	char want[80];
	snprintf(want, sizeof want, "stack: task %lu grew [0x", t->id);
	expect_console(want);
	expect_console("(4 -> 8 KiB), copied ");
	expect_console("frame chain after the move:");
	rt_reap(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_million_frames),
		cmocka_unit_test(test_pointer_passed_down_is_adjusted),
		cmocka_unit_test(test_64k_frame_grows),
		cmocka_unit_test(test_red_zone_moves_with_the_stack),
		cmocka_unit_test(test_shrink_on_yield),
		cmocka_unit_test(test_limit_kills_only_that_task),
		cmocka_unit_test(test_stale_global_pointer_faults_with_report),
		cmocka_unit_test(test_cached_stacks_come_back_all_zero),
		cmocka_unit_test(test_recycled_pages_come_back_all_zero),
		cmocka_unit_test(test_stack_cache_is_bounded_and_reused),
		cmocka_unit_test(test_fault_on_free_never_reuses_addresses),
		cmocka_unit_test(test_adaptive_first_stack),
		cmocka_unit_test(test_large_growths_remap_pages),
		cmocka_unit_test(test_parked_tasks_hibernate_and_wake_intact),
		cmocka_unit_test(test_hibernation_keeps_defers_and_closures),
		cmocka_unit_test(test_hibernate_from_a_task_and_off),
		cmocka_unit_test(test_null_dereference_kills_only_the_task),
		cmocka_unit_test(test_thousand_tasks_grow_and_shrink),
		cmocka_unit_test(test_trace_logs_moves),
	};
	return unit_run("stack", tests);
}
