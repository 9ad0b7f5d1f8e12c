/* recursion.c: the `deep_recursion` and `hot_split` benchmarks in C.
 *
 * Built twice from this file:
 *   recursion-splitstack  gcc -fsplit-stack -DSPLIT_STACK, linked with
 *                         gold: every function starts by comparing the
 *                         stack pointer with a limit that libgcc keeps in
 *                         the thread control block (%fs:0x70 on x86-64);
 *                         a function that would go below it calls
 *                         __morestack, which switches to the next segment
 *                         (16 KiB here) and back again on return.
 *   recursion-plain       no checks: runs on a stack big enough up front.
 *
 * By default libgcc's __morestack blocks all signals while it switches
 * segments: two rt_sigprocmask system calls on the way in and two on the
 * way out.  __splitstack_block_signals turns that off for the calling
 * thread; the splitstack build measures both ways:
 *   splitstack             libgcc's default
 *   splitstack-nosigblock  after __splitstack_block_signals(&0, NULL)
 *
 * deep_recursion: 1,000,000 nested calls; each frame holds a link to its
 * caller's frame, and the deepest call walks the whole chain and checks it.
 *
 * hot_split: 10,000,000 calls of a function with a 256-byte frame, made
 * from a loop.  In the splitstack build the loop runs at the depth where
 * that call is the first that no longer fits the current segment, so every
 * call goes through __morestack and back: the "hot split" that made Go drop
 * segmented stacks.  The depth is found at run time by comparing the
 * segment limit seen inside the callee with the caller's. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "measure.h"

#define DEEP_FRAMES   1000000L
#define HOT_ITERS     10000000ull
#define PLAIN_STACK   (1ul << 30)
/* Deepest level searched for a segment boundary: the first segment of a
 * hot_split thread is about 1 MiB (see hot_descend), 64 bytes a level. */
#define HOT_MAX_LEVEL 100000L

/* One way of running the benchmarks: its name in BENCH lines and, in the
 * splitstack build, whether __morestack blocks signals. */
struct variant {
	const char *impl;
	int block_signals;
	int hot_runs; /* hot_split runs to take the best of */
};

#ifdef SPLIT_STACK
/* libgcc (generic-morestack.c): if new is not NULL, sets whether
 * __morestack blocks signals on this thread; old gets the previous value. */
void __splitstack_block_signals(int *new, int *old);

/* A hot split with signals blocked costs about 1 us: 10,000,000 of them
 * take 8-9 s, so that variant is run once instead of BENCH_RUNS times. */
static const struct variant variants[] = {
	{ "splitstack", 1, 1 },
	{ "splitstack-nosigblock", 0, BENCH_RUNS },
};
#else
static const struct variant variants[] = {
	{ "plain", 0, BENCH_RUNS },
};
#endif
#define NVARIANTS (sizeof variants / sizeof variants[0])

/* The stack limit split-stack prologues compare against: the lowest
 * address the current segment may use.  Zero in the plain build. */
static inline uintptr_t segment_limit(void)
{
#ifdef SPLIT_STACK
	uintptr_t limit;

	__asm__ volatile("movq %%fs:0x70, %0" : "=r"(limit));
	return limit;
#else
	return 0;
#endif
}

/* Applies a variant's signal setting to the calling thread. */
static void variant_enter(const struct variant *v)
{
#ifdef SPLIT_STACK
	int block = v->block_signals;

	__splitstack_block_signals(&block, NULL);
#else
	(void)v;
#endif
}

/* ---- deep_recursion ---- */

struct link {
	struct link *caller;
	long depth;
};

/* What the last walk saw of the stack: the bytes from the outermost frame
 * to the deepest (meaningful on one contiguous stack), and how many steps
 * from a frame to its caller's differ from the usual frame size: where
 * __morestack's frame and a segment boundary lie between the two. */
static uintptr_t deep_span;
static long deep_jumps;

/* Walks from the deepest frame to the outermost one, checking that the
 * depths count up by one; returns their sum, or 0 if a link is wrong. */
static __attribute__((noinline)) uint64_t chain_verify(const struct link *deepest)
{
	const struct link *l = deepest;
	uint64_t sum = 0;
	uintptr_t frame = (uintptr_t)l->caller - (uintptr_t)l;
	long expect = 0, jumps = 0;

	for (; l->caller != NULL; l = l->caller, expect++) {
		if (l->depth != expect)
			return 0;
		if ((uintptr_t)l->caller - (uintptr_t)l != frame)
			jumps++;
		sum += (uint64_t)l->depth;
	}
	if (l->depth != expect || expect != DEEP_FRAMES)
		return 0;
	deep_span = (uintptr_t)l - (uintptr_t)deepest;
	deep_jumps = jumps;
	return sum + (uint64_t)l->depth;
}

/* Recurses `depth` more levels, each frame linked to its caller's. */
static __attribute__((noinline)) uint64_t descend(struct link *caller, long depth)
{
	struct link here = { caller, depth };

	if (depth == 0)
		return chain_verify(&here);
	return descend(&here, depth - 1) + (uint64_t)(here.caller != NULL);
}

/* Expected checksum: the sum of depths 0..N from the walk, plus one from
 * each frame that has a caller and is not the deepest (depths 1..N-1). */
static uint64_t deep_expect(void)
{
	return (uint64_t)DEEP_FRAMES * (DEEP_FRAMES + 1) / 2 + DEEP_FRAMES - 1;
}

/* Runs the recursion once cold, then BENCH_RUNS times, on the calling
 * thread, and prints the best of the BENCH_RUNS.  Every run starts at the
 * same shallow depth, so it must cross every segment boundary again
 * (splitstack) or reach 32 MB down the big stack (plain).  Memory the cold
 * run touched is reused by the later ones, as in a long-running program:
 * libgcc keeps a thread's segments, the kernel keeps the plain stack's
 * pages.  The cold run is shown on stderr but not taken. */
static void *deep_recursion(void *arg)
{
	const struct variant *v = arg;
	uint64_t best = 0;

	variant_enter(v);
	for (int run = 0; run <= BENCH_RUNS; run++) {
		uint64_t t0 = now_ns(), sum = descend(NULL, DEEP_FRAMES);
		uint64_t ns = now_ns() - t0;

		if (sum != deep_expect())
			bench_fail("deep_recursion", "the chain of caller links is broken");
		fprintf(stderr, "deep_recursion %s: %s run %.2f ms\n", v->impl,
			run == 0 ? "cold" : "warm", ns / 1e6);
		if (run == 1 || (run > 1 && ns < best))
			best = ns;
	}
	fprintf(stderr, "deep_recursion %s: checksum %llu; ", v->impl,
		(unsigned long long)deep_expect());
#ifdef SPLIT_STACK
	fprintf(stderr, "the chain crosses %ld segment boundaries\n", deep_jumps);
#else
	fprintf(stderr, "%lu bytes per frame, %ld irregular steps\n",
		(unsigned long)(deep_span / DEEP_FRAMES), deep_jumps);
#endif
	bench_line("deep_recursion", v->impl, best / 1e6, "ms");
	return NULL;
}

/* ---- hot_split ---- */

/* Limit seen by the last call of frame_user: it differs from its caller's
 * when the call had to move to the next segment. */
static volatile uintptr_t callee_limit;

/* A leaf with a 256-byte frame, zeroed as Go zeroes its locals. */
static __attribute__((noinline)) uint64_t frame_user(uint64_t x)
{
	uint64_t buf[32];

	memset(buf, 0, sizeof buf);
	buf[x & 31] = x;
	__asm__ volatile("" : : "r"(buf) : "memory");
	callee_limit = segment_limit();
	return buf[(x >> 5) & 31] + 1;
}

/* The loop that makes the same call n times from one stack depth. */
static __attribute__((noinline)) uint64_t call_loop(uint64_t n)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += frame_user(i);
	return sum;
}

/* What call_loop(n) must return, computed without the calls. */
static uint64_t call_loop_expect(uint64_t n)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += ((i & 31) == ((i >> 5) & 31) ? i : 0) + 1;
	return sum;
}

/* Where the measured calls were made and what they saw. */
struct hot_site {
	long level;             /* depth of the hot_descend frame making the calls */
	uintptr_t caller_limit; /* segment limit at that frame */
	uintptr_t callee_limit; /* segment limit the last callee saw */
	long room;              /* bytes between that frame and its limit */
	uint64_t sum;           /* call_loop's checksum */
};

/* Descends one frame per level; at each level makes one probing call and
 * compares the segment limit the callee saw with its own.  At the first
 * level where the call crosses a segment boundary (want_split) or does
 * not, it makes the n measured calls from there and returns the level.
 * Probing and measuring happen in one descent, so the calls are made from
 * exactly the probed stack address.  It calls no libc: gold makes a
 * function that calls code built without -fsplit-stack ask for a 1 MiB
 * segment of its own, which would put every level on a fresh segment. */
static __attribute__((noinline)) long hot_descend(long level, int want_split, uint64_t n,
						  struct hot_site *site)
{
	volatile char mark;
	uintptr_t mine = segment_limit();

	call_loop(1);
	if ((callee_limit != mine) == want_split) {
		site->sum = call_loop(n);
		site->level = level;
		site->caller_limit = mine;
		site->callee_limit = callee_limit;
		site->room = (long)((uintptr_t)&mark - mine);
		return level;
	}
	if (level == HOT_MAX_LEVEL)
		return -1;
	return hot_descend(level + 1, want_split, n, site);
}

/* Makes HOT_ITERS calls from the first level where the call does
 * (want_split) or does not cross a boundary, best of `runs`, and returns
 * ns per call.  Checks the result and that the last call still did or did
 * not cross.  The time includes the descent and its probes: a few thousand
 * calls against ten million. */
static double hot_time(const char *impl, int want_split, int runs)
{
	uint64_t expect = call_loop_expect(HOT_ITERS), best = 0;
	struct hot_site site;

	for (int run = 0; run < runs; run++) {
		uint64_t t0 = now_ns(), ns;
		long level = hot_descend(0, want_split, HOT_ITERS, &site);

		ns = now_ns() - t0;
		if (level < 0)
			bench_fail("hot_split", "no segment boundary found");
		if (site.sum != expect)
			bench_fail("hot_split", "wrong checksum");
		if ((site.callee_limit != site.caller_limit) != want_split)
			bench_fail("hot_split", "the call moved on or off a segment boundary");
		if (run == 0 || ns < best)
			best = ns;
	}
#ifdef SPLIT_STACK
	fprintf(stderr, "hot_split %s: loop at level %ld, %ld bytes above the segment "
		"limit, best of %d\n", impl, site.level, site.room, runs);
#endif
	fprintf(stderr, "hot_split %s: checksum %llu\n", impl, (unsigned long long)expect);
	return (double)best / HOT_ITERS;
}

static void *hot_split(void *arg)
{
	const struct variant *v = arg;

	variant_enter(v);
#ifdef SPLIT_STACK
	/* The same build and call where it fits: the cost of the checks alone.
	 * Signals play no part there, so it is measured once. */
	if (v->block_signals)
		bench_line("hot_split", "splitstack-noboundary",
			   hot_time("splitstack-noboundary", 0, BENCH_RUNS), "ns/iter");
	bench_line("hot_split", v->impl, hot_time(v->impl, 1, v->hot_runs), "ns/iter");
#else
	bench_line("hot_split", v->impl, hot_time(v->impl, 0, v->hot_runs), "ns/iter");
#endif
	return NULL;
}

/* Runs fn(v) on a new thread: the plain build's needs PLAIN_STACK, the
 * splitstack build's has default attributes, so libgcc's default
 * segments. */
static void on_thread(void *(*fn)(void *), const struct variant *v)
{
	pthread_attr_t attr;
	pthread_t thread;

	pthread_attr_init(&attr);
#ifndef SPLIT_STACK
	pthread_attr_setstacksize(&attr, PLAIN_STACK);
#endif
	if (pthread_create(&thread, &attr, fn, (void *)v) != 0)
		bench_fail("recursion", "pthread_create failed");
	pthread_join(thread, NULL);
	pthread_attr_destroy(&attr);
}

int main(void)
{
	for (size_t i = 0; i < NVARIANTS; i++)
		on_thread(deep_recursion, &variants[i]);
	for (size_t i = 0; i < NVARIANTS; i++)
		on_thread(hot_split, &variants[i]);
	return 0;
}
