/*
 * test_moves.c: regression tests for the ways a stack move used to go
 * wrong (docs/stack-moves.md says why each cannot now), on the Linux
 * port. Each puts a task at the exact edge of its stack, byte by byte,
 * and then does what moved the stack at the worst moment:
 *   - libc (snprintf, an unbuffered fprintf) with 0 to 12 KiB left: glibc
 *     keeps stack addresses in xmm registers and has probe loops of its own;
 *   - a channel hand-off and a yield with 0 to 2 KiB left: the runtime's own
 *     code used to run there, on the stack it was moving;
 *   - a register holding a pointer into another task's stack while the
 *     stack grows: it must not change (only the task's own range moves);
 *   - a stack address in %xmm0 while the stack grows: it must move;
 *   - fork() in a task: the child must get its own copy of every stack
 *     (pooled stacks are shared mappings of one memfd);
 *   - longjmp across a move: the task dies with a report naming the cause;
 *   - a fault on the runtime's own stack: no task is blamed;
 *   - the move's word loops (stackscan.S) against a model in C, on random
 *     words crowded around the range's ends, at every length and offset.
 */
#include "rt_test.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <unistd.h>

#include "chan.h"
#include "internal.h"
#include "defer.h"

/* Bytes between the caller's %rsp and the bottom of the running task's stack. */
__attribute__((noinline)) static uint64_t free_bytes(void)
{
	return (uintptr_t)__builtin_frame_address(0) - rt_current()->stack_lo;
}

/* Calls fn(arg) with about `left` bytes of stack left below at_edge's
 * frame: fn's own frame and what it calls start at most 160 bytes lower. */
__attribute__((noinline)) static uint64_t at_edge(uint64_t left, uint64_t (*fn)(uint64_t), uint64_t arg)
{
	uint64_t f = free_bytes();
	if (f > left + 256) {
		volatile uint8_t *pad = __builtin_alloca(f - left);
		pad[0] = 1;
		return fn(arg) + (pad[0] - 1);
	}
	return fn(arg);
}

/* Grows the running task's stack to at least 128 KiB, then returns. */
__attribute__((noinline)) static void pregrow(void)
{
	volatile uint8_t big[100 << 10];
	big[0] = 1;
	big[sizeof big - 1] = 1;
}

/*
 * Runs task(left) in a task of its own for every edge from 0 to max bytes
 * left, 8 bytes apart (a stack that grew at one edge would not be at the
 * next). Each must return 0; fails naming the edge and what went wrong.
 * Returns how many of them moved their stack more than `pregrows` times.
 */
static uint64_t at_every_edge(rt_func task, uint64_t max, uint64_t pregrows, const char *what)
{
	uint64_t moved = 0;
	for (uint64_t left = 0; left <= max; left += 8) {
		uint64_t bad = 99;
		struct rt_task *t = rt_spawn(task, left, "edge");
		assert_int_equal(rt_join(t, &bad), RT_EXIT_RETURNED);
		if (bad)
			fail_msg("%s with %lu bytes of stack left", what, left);
		moved += t->stats.grows > pregrows;
		rt_reap(t);
	}
	return moved;
}

/* ---- libc at every edge ---- */

static FILE *unbuffered;

static uint64_t call_libc(uint64_t i)
{
	char buf[128], want[128];
	struct { const char *s; double d; long l; } rec = { "edge", 2.5, (long)i };
	uintptr_t lo0 = rt_current()->stack_lo;
	snprintf(buf, sizeof buf, "%s %.3f %ld %p", rec.s, rec.d, rec.l, (void *)&rec);
	/* The same text, built by hand: the record's address must be where it is now. */
	uintptr_t a = (uintptr_t)&rec;
	char hex[32];
	int n = 0;
	do
		hex[n++] = "0123456789abcdef"[a & 15];
	while (a >>= 4);
	char *w = want + sprintf(want, "edge 2.500 %ld 0x", (long)i);
	while (n)
		*w++ = hex[--n];
	*w = '\0';
	if (strcmp(buf, want) != 0)
		return 1 + (rt_current()->stack_lo != lo0); /* 2: the stack moved in between */
	return fprintf(unbuffered, "%s %d %s\n", rec.s, (int)i, buf) <= 0;
}

/* call_libc, again if the stack moved between snprintf and the text built
 * by hand (the move-stress switch can move it at any instruction: the
 * printed address is then rightly the old one). */
static uint64_t call_libc_until_still(uint64_t i)
{
	uint64_t r;
	for (int tries = 0; (r = call_libc(i)) == 2 && tries < 100; tries++)
		;
	return r;
}

static uint64_t libc_task(uint64_t left)
{
	pregrow();
	return at_edge(left, call_libc_until_still, left);
}

static void test_libc_at_every_stack_edge(void **state)
{
	(void)state;
	rt_test_setup();
	int fd = open("/dev/null", O_WRONLY);
	unbuffered = fdopen(fd, "w");
	assert_non_null(unbuffered);
	setvbuf(unbuffered, NULL, _IONBF, 0); /* glibc then formats through a buffer on the stack */
	rt_trace_moves = getenv("TRACE") != NULL;
	uint64_t grew = at_every_edge(libc_task, 12 << 10, 1, "libc gave a wrong result");
	assert_true(grew > 100); /* libc itself made the stack move, many times */
	fclose(unbuffered);
}

/* ---- the runtime's own code at every edge ---- */

struct value32 {
	uint64_t a, b, c, d;
};

static struct rt_chan *edge_chan;

static uint64_t send_one(uint64_t i)
{
	struct value32 v = { i, ~i, i * 3, i ^ 0x5555 };
	rt_chan_send(edge_chan, &v);
	return 0;
}

static uint64_t yield_once(uint64_t i)
{
	uint64_t before = i * 7;
	rt_yield();
	return before != i * 7;
}

static uint64_t edge_sender(uint64_t left)
{
	pregrow();
	uint64_t bad = at_edge(left, send_one, left);
	pregrow();
	return bad + at_edge(left, yield_once, left);
}

static uint64_t edge_receiver(uint64_t unused)
{
	(void)unused;
	uint64_t bad = 0;
	for (uint64_t left = 0; left <= 2048; left += 8) {
		struct value32 v = { 0, 0, 0, 0 };
		if (!rt_chan_recv(edge_chan, &v))
			return ~0UL;
		bad += v.a != left || v.b != ~left || v.c != left * 3 || v.d != (left ^ 0x5555);
		rt_yield();
	}
	return bad;
}

static uint64_t deferred_sum;

static void add_to_sum(uint64_t v) { deferred_sum += v; }

/* Defers three calls and names its result: the runtime's defer records
 * are made with the stack at its edge. */
RT_DEFERS static uint64_t defer_at_edge(uint64_t i)
{
	uint64_t r = i;
	rt_defer_result(&r);
	rt_defer((void *)add_to_sum, 1, i);
	rt_defer((void *)add_to_sum, 1, 2 * i);
	rt_defer((void *)add_to_sum, 1, 3 * i);
	r = i + 1;
	RT_RETURN(r);
}

static uint64_t edge_deferrer(uint64_t left)
{
	pregrow();
	deferred_sum = 0;
	uint64_t r = at_edge(left, defer_at_edge, left);
	return (r != left + 1) + (deferred_sum != 6 * left);
}

static void test_defer_at_every_stack_edge(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t grew = at_every_edge(edge_deferrer, 2048, 1, "defer: a wrong result or deferred calls");
	assert_true(grew > 10);
}

static void test_handoff_and_yield_at_every_stack_edge(void **state)
{
	(void)state;
	rt_test_setup();
	edge_chan = rt_chan_make(sizeof(struct value32), 0);
	struct rt_task *r = rt_spawn(edge_receiver, 0, "receiver");
	uint64_t rbad = 99;
	uint64_t grew = at_every_edge(edge_sender, 2048, 1, "a yield changed a local");
	assert_int_equal(rt_join(r, &rbad), RT_EXIT_RETURNED);
	assert_int_equal(rbad, 0);
	assert_true(grew > 10); /* the calls into the runtime made the stack move */
	rt_reap(r);
	rt_chan_free(edge_chan);
}

/* ---- registers: another task's pointer stays, our own moves ---- */

static uint64_t other_local = 0x0123456789abcdefULL;
static uint64_t *other_ptr;

static uint64_t holder(uint64_t unused)
{
	(void)unused;
	uint64_t mine = 0x1111;
	other_ptr = &mine;
	rt_park(); /* until the grower is done */
	return mine;
}

/* Touches the first guard byte with `keep` in %r12 and `own` in %xmm0. */
static uint64_t grower(uint64_t unused)
{
	(void)unused;
	uint64_t own = 0xfeedULL, *ownp = &own;
	uint64_t keep = (uint64_t)other_ptr, kept, ownp_after;
	uint64_t at = rt_current()->stack_lo - 8;
	__asm__ volatile("mov %[keep], %%r12\n\t"
			 "movq %[ownp], %%xmm0\n\t"
			 "movb $1, (%[at])\n\t" /* in the guard: the stack grows here */
			 "mov %%r12, %[kept]\n\t"
			 "movq %%xmm0, %[after]\n\t"
			 : [kept] "=&r"(kept), [after] "=&r"(ownp_after), [at] "+r"(at)
			 : [keep] "r"(keep), [ownp] "r"(ownp)
			 : "r12", "xmm0", "memory");
	uint64_t bad = 0;
	bad += kept != keep;                                   /* another task's: untouched */
	bad += (uint64_t *)ownp_after != &own;                 /* ours: followed the move */
	bad += *(uint64_t *)ownp_after != 0xfeedULL;
	bad += rt_current()->stats.grows < 1; /* the touch grew it (the stress switch may add moves) */
	return bad;
}

static void test_registers_adjust_only_the_tasks_own_range(void **state)
{
	(void)state;
	rt_test_setup();
	(void)other_local;
	struct rt_task *h = rt_spawn(holder, 0, "holder");
	rt_run();
	assert_non_null(other_ptr);
	struct rt_task *g = rt_spawn(grower, 0, "grower");
	/* The premise: the pointer is outside the grower's own range, guard
	 * included. (Not which stack is below the other: under the
	 * move-stress switch the holder may have moved away from its first
	 * stack, and the grower may be given that one from the cache.) */
	uintptr_t p = (uintptr_t)other_ptr;
	assert_true(p < g->stack_lo - RT_STACK_GUARD || p > g->stack_hi);
	uint64_t bad = 99;
	assert_int_equal(rt_join(g, &bad), RT_EXIT_RETURNED);
	assert_int_equal(bad, 0);
	rt_ready(h);
	uint64_t mine = 0;
	assert_int_equal(rt_join(h, &mine), RT_EXIT_RETURNED);
	assert_int_equal(mine, 0x1111);
	rt_reap(g);
	rt_reap(h);
}

/* ---- stackscan.S against its model ---- */

static uint64_t scan_rng;

static uint64_t scan_next(void)
{
	scan_rng ^= scan_rng << 13;
	scan_rng ^= scan_rng >> 7;
	scan_rng ^= scan_rng << 17;
	return scan_rng;
}

/* A word a stack might hold, most of them within a few of lo or hi. */
static uint64_t scan_word(uint64_t lo, uint64_t hi)
{
	uint64_t r = scan_next(), near = (r >> 8) % 5;
	switch (r % 6) {
	case 0: return lo - 2 + near;
	case 1: return hi - 2 + near;
	case 2: return lo + (scan_next() % (hi - lo + 1));
	case 3: return r >> (r % 64);
	case 4: return near == 0 ? 0 : near == 1 ? ~0UL : near;
	default: return scan_next();
	}
}

/* The model: stackmove.c's adjust_word on [first, first + n) of src, the
 * rest of out as it was. Returns how many words changed. */
static uint64_t scan_model(const uint64_t *src, uint64_t *out, size_t first, size_t n, int64_t delta,
			   uint64_t lo, uint64_t hi)
{
	uint64_t changed = 0;
	for (size_t i = first; i < first + n; i++) {
		uint64_t v = src[i];
		if (v - lo <= hi - lo) {
			v += (uint64_t)delta;
			changed++;
		}
		out[i] = v;
	}
	return changed;
}

static void scan_expect(uint64_t seed, const char *which, const uint64_t *got, const uint64_t *want,
			size_t words, uint64_t got_n, uint64_t want_n)
{
	for (size_t i = 0; i < words; i++)
		if (got[i] != want[i]) {
			fprintf(stderr, "seed %lu: %s: word %zu is %#lx, the model says %#lx\n", seed, which,
				i, got[i], want[i]);
			fail();
		}
	if (got_n != want_n) {
		fprintf(stderr, "seed %lu: %s counted %lu changed words, the model %lu\n", seed, which,
			got_n, want_n);
		fail();
	}
}

static void test_scan_loops_match_their_model(void **state)
{
	(void)state;
	enum { MAXW = 300, WORDS = MAXW + 8 };
	static uint64_t src[WORDS], dst[WORDS], want[WORDS], mine[WORDS];
	for (uint64_t seed = 1; seed <= 3000; seed++) {
		scan_rng = seed * 0x2545f4914f6cdd1dULL;
		uint64_t lo = scan_next() >> (scan_next() % 64);
		uint64_t len = seed % 7 == 0 ? 0 : scan_next() % (1UL << (scan_next() % 40));
		uint64_t hi = lo + len < lo ? ~0UL : lo + len; /* inclusive; may be the top word */
		int64_t delta = (int64_t)(scan_next() % (1UL << 40)) * 8 * (seed & 1 ? 1 : -1);
		size_t first = scan_next() % 8, n = seed % MAXW; /* every length, every offset */
		for (size_t i = 0; i < WORDS; i++) {
			src[i] = scan_word(lo, hi);
			dst[i] = i * 3;
		}
		/* In place, with a random delta. */
		memcpy(mine, src, sizeof mine);
		memcpy(want, src, sizeof want);
		uint64_t want_n = scan_model(src, want, first, n, delta, lo, hi);
		uint64_t got_n = rt_scan_adjust(mine + first, mine + first + n, delta, lo, hi);
		scan_expect(seed, "rt_scan_adjust", mine, want, WORDS, got_n, want_n);
		/* A copy to src + delta: here delta is where dst lies from src,
		 * and the words outside [first, first + n) of dst stay. */
		int64_t to_dst = (int64_t)((uintptr_t)dst - (uintptr_t)src);
		memcpy(want, dst, sizeof want);
		want_n = scan_model(src, want, first, n, to_dst, lo, hi);
		memcpy(mine, src, sizeof mine);
		got_n = rt_scan_copy(src + first, src + first + n, to_dst, lo, hi);
		scan_expect(seed, "rt_scan_copy", dst, want, WORDS, got_n, want_n);
		assert_memory_equal(mine, src, sizeof mine); /* the source is only read */
	}
}

/* ---- fork: the child gets its own copy of every task stack ---- */

static uint64_t *parked_local;

static uint64_t parked_task(uint64_t unused)
{
	(void)unused;
	uint64_t local = 1000;
	parked_local = &local;
	rt_park();
	return local;
}

static uint64_t forking_task(uint64_t unused)
{
	(void)unused;
	uint64_t mine = 7;
	pid_t pid = fork();
	if (pid == 0) { /* the child: sees the parent's values, changes its own copies */
		int ok = mine == 7 && *parked_local == 1000;
		mine = 8;
		*parked_local = 2000;
		_exit(ok ? 0 : 1);
	}
	int status = -1;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 100;
	/* The parent: its stacks are as they were. */
	return (uint64_t)(WIFEXITED(status) ? WEXITSTATUS(status) : 50) + (mine != 7) * 10;
}

static void test_fork_gives_the_child_private_stacks(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_task *p = rt_spawn(parked_task, 0, "parked");
	rt_run();
	struct rt_task *f = rt_spawn(forking_task, 0, "forker");
	uint64_t r = 99, local = 0;
	assert_int_equal(rt_join(f, &r), RT_EXIT_RETURNED);
	assert_int_equal(r, 0);
	rt_ready(p);
	assert_int_equal(rt_join(p, &local), RT_EXIT_RETURNED);
	assert_int_equal(local, 1000);
	rt_reap(f);
	rt_reap(p);
}

/* ---- longjmp across a move: a clear report, only that task dies ---- */

static jmp_buf before_move;

__attribute__((noinline)) static void grow_then_jump(void)
{
	volatile uint8_t big[64 << 10];
	big[0] = 1;
	if (big[0])
		longjmp(before_move, 1);
}

static uint64_t longjmp_task(uint64_t unused)
{
	(void)unused;
	if (setjmp(before_move))
		return 1; /* never: the stack it saved is gone */
	grow_then_jump();
	return 2;
}

static void test_longjmp_across_a_move_is_reported(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_task *t = rt_spawn(longjmp_task, 0, "jumper");
	assert_int_equal(rt_join(t, NULL), RT_EXIT_KILLED);
	char want[120];
	snprintf(want, sizeof want, "is in task %lu's old stack [", t->id);
	expect_console(want);
	expect_console("a longjmp, or a\nruntime: context saved before the move");
	assert_string_equal(t->kill_reason, "its stack pointer is in its old stack (longjmp across a move?)");
	assert_null(strstr(console_buf, "(a global, the heap)")); /* not a pointer kept elsewhere */
	rt_reap(t);
}

/* ---- a fault on the runtime's own stack is no task's ---- */

static volatile uintptr_t bad_address = 8;

static uint64_t fault_on_runtime_stack(void *unused)
{
	(void)unused;
	return *(volatile uint64_t *)bad_address; /* a bug in the runtime, as it were */
}

static uint64_t runtime_faulter(uint64_t unused)
{
	(void)unused;
	return rt_systemstack(fault_on_runtime_stack, NULL);
}

/* The runtime must not blame (or kill) the current task for it: the
 * process dies with a report that says where the fault was. */
static void test_fault_on_the_runtime_stack_blames_no_task(void **state)
{
	(void)state;
	rt_test_setup();
	int out[2];
	assert_int_equal(pipe(out), 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core); /* it dies of SIGSEGV: no core file in the tree */
		dup2(out[1], 2);
		host_console = NULL; /* straight to fd 2 */
		struct rt_task *t = rt_spawn(runtime_faulter, 0, "victim");
		rt_join(t, NULL);
		_exit(0); /* never: the fault is not a task's */
	}
	close(out[1]);
	char buf[4096] = "";
	size_t got = 0;
	ssize_t n;
	while (got < sizeof buf - 1 && (n = read(out[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(out[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	if (!strstr(buf, "in the runtime itself, on its own stack") || strstr(buf, "killed"))
		fail_msg("the report was:\n%s", buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libc_at_every_stack_edge),
		cmocka_unit_test(test_handoff_and_yield_at_every_stack_edge),
		cmocka_unit_test(test_defer_at_every_stack_edge),
		cmocka_unit_test(test_registers_adjust_only_the_tasks_own_range),
		cmocka_unit_test(test_fork_gives_the_child_private_stacks),
		cmocka_unit_test(test_longjmp_across_a_move_is_reported),
		cmocka_unit_test(test_fault_on_the_runtime_stack_blames_no_task),
		cmocka_unit_test(test_scan_loops_match_their_model),
	};
	return unit_run("moves", tests);
}
