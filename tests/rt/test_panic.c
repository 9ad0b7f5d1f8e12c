/*
 * test_panic.c: panic and recover on the Linux host port: Go's rules for
 * recover, panics through many frames, re-panics, chained reports, and
 * hardware faults as recoverable runtime errors.
 */
#include "rt_test.h"

#include "internal.h" /* the runtime's own records and counters, checked here */

#include <alloca.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "defer.h"
#include "panic.h"

#include "twins.h"

/* level() and deep_panic() end only by panicking (rt_panic never returns),
 * which GCC reports as infinite recursion. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"

static char trail[256];
static size_t trail_len;

static void mark(uint64_t c)
{
	if (trail_len + 1 < sizeof trail) {
		trail[trail_len++] = (char)c;
		trail[trail_len] = '\0';
	}
}

static const char *recovered_msg;

/* A deferred call that recovers: func() { recovered = recover() }.
 * noinline: recover must be called by the deferred function itself. */
__attribute__((noinline)) static void recoverer(void)
{
	recovered_msg = rt_recover();
}

/* Not called directly by the panic: recover here must return nil. */
__attribute__((noinline)) static void indirect_recover(void)
{
	recoverer();
	__asm__ volatile("" ::: "memory"); /* a real call, not a jump */
}

__attribute__((noinline)) static void mark_and_indirect(void)
{
	mark('i');
	indirect_recover();
	__asm__ volatile("" ::: "memory");
}

/* ---- panic through 100 frames, a defer in each, recovered at the top ---- */

static uint64_t deep_task(uint64_t arg)
{
	return twin_panic_deep((struct twin_panic *)arg);
}

static void test_panic_through_100_frames_recovered_at_the_top(void **state)
{
	(void)state;
	rt_test_setup();
	struct twin_panic p;
	struct rt_task *t = rt_spawn(deep_task, (uint64_t)&p, "top");
	uint64_t v = 0;
	assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 7);               /* the named result, returned normally */
	assert_string_equal(p.recovered, "deep trouble");
	assert_int_equal(p.deferred_ran, 100); /* every frame's defer ran */
	assert_true(p.in_order);               /* innermost first */
	rt_reap(t);
}

/* ---- recover anywhere else returns nil ---- */

RT_DEFERS static uint64_t no_panic(void)
{
	uint64_t r = 3;
	rt_defer_result(&r);
	rt_defer((void *)recoverer, 0);
	RT_RETURN(r);
}

RT_DEFERS static uint64_t indirect(void)
{
	uint64_t r = 0;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r);
	rt_defer((void *)mark_and_indirect, 0);
	rt_panic("not recovered by a helper");
}

static uint64_t indirect_task(uint64_t arg)
{
	(void)arg;
	return indirect();
}

static void test_recover_elsewhere_returns_nil(void **state)
{
	(void)state;
	rt_test_setup();
	recovered_msg = "unset";
	assert_null(rt_recover()); /* not in a deferred call at all */
	assert_int_equal(no_panic(), 3);
	assert_null(recovered_msg); /* a deferred call, but no panic */
	recovered_msg = "unset";
	struct rt_task *t = rt_spawn(indirect_task, 0, "indirect");
	assert_int_equal(rt_join(t, NULL), RT_EXIT_KILLED); /* called from a helper: no recovery */
	assert_null(recovered_msg);
	expect_console("panic: not recovered by a helper\n");
	rt_reap(t);
}

/* ---- recover, then panic again: the next frame up recovers the second ---- */

static uint64_t repanic_task(uint64_t arg)
{
	return twin_panic_repanic((struct twin_panic *)arg);
}

static void test_recover_then_panic_again(void **state)
{
	(void)state;
	rt_test_setup();
	struct twin_panic p;
	struct rt_task *t = rt_spawn(repanic_task, (uint64_t)&p, "repanic");
	uint64_t v = 0;
	assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 11);
	assert_string_equal(p.recovered, "second");
	rt_reap(t);
}

/* recover, then panic again, in a function without a recovery point */
__attribute__((noinline)) static void recover_and_repanic(void)
{
	if (rt_recover())
		rt_panic("second");
}

/* ---- unrecovered chains print as Go does ---- */

RT_DEFERS static uint64_t chain_recovered_first(uint64_t arg)
{
	(void)arg;
	rt_defer((void *)recover_and_repanic, 0);
	rt_panic("first");
}

static void test_chained_panics_are_reported_like_go(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_task *a = rt_spawn(twin_panic_chained, 0, "chain");
	assert_int_equal(rt_join(a, NULL), RT_EXIT_KILLED);
	expect_console("panic: first\n\tpanic: second\n\ngoroutine ");
	console_reset();
	struct rt_task *b = rt_spawn(chain_recovered_first, 0, "chain2");
	assert_int_equal(rt_join(b, NULL), RT_EXIT_KILLED);
	/* recovered without a recovery point: the function cannot return, the task dies */
	expect_console("panic: first [recovered]\n\tpanic: second\n");
	rt_reap(a);
	rt_reap(b);
}

/* ---- hardware faults are runtime panics, recoverable ---- */

static uint64_t nil_task(uint64_t arg)
{
	return twin_panic_nil((struct twin_panic *)arg, 0);
}

static volatile uint64_t zero;

RT_DEFERS static uint64_t divide_then_recover(uint64_t arg)
{
	uint64_t r = 6;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r);
	rt_defer((void *)recoverer, 0);
	uint64_t hi = 0, lo = arg, d = zero;
	__asm__ volatile("divq %2" : "+a"(lo), "+d"(hi) : "r"(d));
	r = lo;
	RT_RETURN(r);
}

static uint64_t divide_unrecovered(uint64_t arg)
{
	uint64_t hi = 0, lo = arg, d = zero;
	__asm__ volatile("divq %2" : "+a"(lo), "+d"(hi) : "r"(d));
	return lo;
}

static void test_hardware_faults_become_recoverable_panics(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t v = 0;
	struct twin_panic p;
	struct rt_task *t = rt_spawn(nil_task, (uint64_t)&p, "nil");
	assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 5);
	assert_string_equal(p.recovered, "runtime error: invalid memory address or nil pointer dereference");
	rt_reap(t);
	recovered_msg = NULL;
	t = rt_spawn(divide_then_recover, 1, "div");
	assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 6);
	assert_string_equal(recovered_msg, "runtime error: integer divide by zero");
	rt_reap(t);
	t = rt_spawn(divide_unrecovered, 1, "div2");
	assert_int_equal(rt_join(t, NULL), RT_EXIT_KILLED);
	expect_console("panic: runtime error: integer divide by zero\n");
	expect_console("  divide_unrecovered+0x");
	rt_reap(t);
}

/* ---- a panic across a stack move: the records and the chain follow ---- */

__attribute__((noinline)) static uint64_t deep_panic(uint64_t n)
{
	volatile char pad[200];
	pad[0] = 1;
	if (n == 0)
		rt_panic("from the deep");
	return deep_panic(n - 1) + pad[0];
}

RT_DEFERS static uint64_t grow_then_panic(uint64_t n)
{
	uint64_t r = 9;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r);
	rt_defer((void *)recoverer, 0);
	deep_panic(n); /* grows the stack several times, then panics */
	RT_RETURN(r);
}

static uint64_t grow_panic_task(uint64_t n)
{
	uint64_t v = grow_then_panic(n);
	return v == 9 && rt_current()->stats.grows > 0;
}

static void test_panic_after_stack_moves(void **state)
{
	(void)state;
	rt_test_setup();
	recovered_msg = NULL;
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(grow_panic_task, 20000, "deep");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	assert_string_equal(recovered_msg, "from the deep");
	rt_reap(t);
}

/* ---- a deferred call that panics on the normal return path, recovered by the caller ---- */

__attribute__((noinline)) static void panicker(void)
{
	rt_panic("in a deferred call");
}

RT_DEFERS static uint64_t defers_a_panic(void)
{
	rt_defer((void *)panicker, 0);
	RT_RETURN(1); /* returns normally: RT_RETURN runs panicker */
}

RT_DEFERS static uint64_t recovers_the_callee(void)
{
	uint64_t r = 0;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r);
	rt_defer((void *)recoverer, 0);
	r = defers_a_panic() + 10; /* never completes */
	RT_RETURN(r);
}

static uint64_t leak_task(uint64_t n)
{
	struct rt_heap_stats h0, h1;
	uint64_t wrong = 0;
	rt_defer_trim();
	rt_heap_get_stats(&h0);
	for (uint64_t i = 0; i < n; i++) {
		recovered_msg = NULL;
		if (recovers_the_callee() != 0 || !recovered_msg || rt_defer_pending() != 0)
			wrong++;
	}
	rt_defer_trim();
	rt_heap_get_stats(&h1);
	if (wrong)
		return 1000000 + wrong;
	return (h1.objects_live - h0.objects_live) + (h1.bytes_live != h0.bytes_live) * 500000;
}

static void test_panic_in_a_returning_deferred_call_leaks_nothing(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t v = 99;
	struct rt_task *t = rt_spawn(leak_task, 100000, "leak");
	assert_int_equal(rt_join(t, &v), RT_EXIT_RETURNED);
	if (v)
		fail_msg("100,000 recovered panics from deferred calls: %lu objects left (+500000: bytes differ; "
			 "+1000000: wrong results)", v);
	rt_reap(t);
}

/* ---- alloca made after the last defer, then a panic recovered in the same function ---- */

struct area {
	unsigned char *p;
	size_t n;
	int ok;
};

__attribute__((noinline)) static void stomp(void)
{
	volatile unsigned char big[96 << 10];
	for (size_t i = 0; i < sizeof big; i += 64)
		big[i] = 0xee;
}

static void check_area(struct area *a)
{
	a->ok = 1;
	for (size_t i = 0; i < a->n; i++)
		if (a->p[i] != (unsigned char)(i * 5 + 3))
			a->ok = 0;
}

RT_DEFERS static uint64_t alloca_then_panic(struct area *a)
{
	uint64_t r = 2;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r); /* resumes with %rsp above the alloca below */
	rt_defer((void *)check_area, 1, (uint64_t)a);
	rt_defer((void *)stomp, 0);
	rt_defer((void *)recoverer, 0);
	a->p = alloca(a->n);
	for (size_t i = 0; i < a->n; i++)
		a->p[i] = (unsigned char)(i * 5 + 3);
	rt_panic("after alloca");
}

static uint64_t alloca_panic_task(uint64_t n)
{
	struct area a = { NULL, n, -1 };
	uint64_t v = alloca_then_panic(&a);
	return v == 2 && a.ok == 1;
}

static void test_alloca_survives_a_recovered_panic(void **state)
{
	(void)state;
	rt_test_setup();
	static const uint64_t sizes[] = { 200, 5000, 40000 };
	for (unsigned i = 0; i < 3; i++) {
		uint64_t ok = 0;
		recovered_msg = NULL;
		struct rt_task *t = rt_spawn(alloca_panic_task, sizes[i], "alloca");
		assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
		assert_string_equal(recovered_msg, "after alloca");
		if (!ok)
			fail_msg("alloca of %lu bytes overwritten by deferred calls after a recovered panic", sizes[i]);
		rt_reap(t);
	}
}

/* ---- random programs of defers, nested deferring frames, panics, recovers
 * and named results, against a model of Go's rules ---- */

enum op_kind { OP_DEFER, OP_CALL, OP_PANIC, OP_GROW };

struct fnode;
struct dnode { /* a deferred call: func() { log; [recover]; [r += add]; [r += call()]; [panic] } */
	int id, recover;
	uint64_t add;
	struct fnode *call;
	const char *panic;
};
struct op {
	enum op_kind kind;
	struct dnode d;       /* OP_DEFER */
	struct fnode *child;  /* OP_CALL: r += child() */
	const char *msg;      /* OP_PANIC */
	uint64_t grow;        /* OP_GROW: r += deep(grow) */
};
struct fnode { /* func f() (r int) { r = init; ops... ; return r } */
	uint64_t init;
	int nops;
	struct op ops[5];
};

static struct fnode pool[512];
static int pool_n, dnode_n;
static unsigned msg_n;
static char msgs[512][16];
static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static const char *new_msg(void)
{
	snprintf(msgs[msg_n], sizeof msgs[0], "p%u", msg_n % 1000);
	return msgs[msg_n++];
}

static struct fnode *gen_fn(int depth)
{
	if (pool_n >= (int)(sizeof pool / sizeof pool[0]) - 1 || msg_n >= 500)
		depth = 99; /* no more children */
	struct fnode *n = &pool[pool_n++];
	memset(n, 0, sizeof *n);
	n->init = rnd(100);
	n->nops = (int)rnd(6);
	for (int i = 0; i < n->nops; i++) {
		struct op *o = &n->ops[i];
		uint64_t k = rnd(100);
		if (k < 55) {
			o->kind = OP_DEFER;
			o->d.id = dnode_n++;
			o->d.recover = rnd(100) < 35;
			o->d.add = rnd(100) < 40 ? 1 + rnd(9) : 0;
			o->d.call = depth < 3 && rnd(100) < 20 ? gen_fn(depth + 1) : NULL;
			o->d.panic = rnd(100) < 20 && msg_n < 500 ? new_msg() : NULL;
		} else if (k < 78 && depth < 3) {
			o->kind = OP_CALL;
			o->child = gen_fn(depth + 1);
		} else if (k < 90 && msg_n < 500) {
			o->kind = OP_PANIC;
			o->msg = new_msg();
		} else {
			o->kind = OP_GROW;
			o->grow = rnd(100) < 30 ? 100 + rnd(400) : rnd(5);
		}
	}
	return n;
}

static char got[8192], want[8192];
static size_t got_n, want_n;

static void logto(char *buf, size_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *n, 8192 - *n, fmt, ap);
	va_end(ap);
	if (w > 0 && *n + (size_t)w < 8192)
		*n += (size_t)w;
}

/* The model: Go's rules, written out. */
struct outcome {
	int panicking;
	const char *msg;
	uint64_t value;
};

static struct outcome model_fn(struct fnode *n);

static struct outcome model_deferred(struct dnode *d, struct outcome st, uint64_t *r)
{
	logto(want, &want_n, "d%d ", d->id);
	if (d->recover) { /* called directly by a deferred call: stops the panic running it, if any */
		logto(want, &want_n, "R:%s ", st.panicking ? st.msg : "-");
		st.panicking = 0;
	}
	*r += d->add;
	if (d->call) {
		struct outcome o = model_fn(d->call);
		if (o.panicking)
			return o; /* a new panic replaces the one running this call */
		*r += o.value;
	}
	if (d->panic) {
		logto(want, &want_n, "P:%s ", d->panic);
		return (struct outcome){ 1, d->panic, 0 };
	}
	return st;
}

static struct outcome model_fn(struct fnode *n)
{
	uint64_t r = n->init;
	struct dnode *defers[8];
	int nd = 0;
	struct outcome st = { 0, NULL, 0 };
	for (int i = 0; i < n->nops && !st.panicking; i++) {
		struct op *o = &n->ops[i];
		if (o->kind == OP_DEFER) {
			defers[nd++] = &o->d;
		} else if (o->kind == OP_CALL) {
			struct outcome c = model_fn(o->child);
			if (c.panicking)
				st = c;
			else
				r += c.value;
		} else if (o->kind == OP_PANIC) {
			logto(want, &want_n, "P:%s ", o->msg);
			st = (struct outcome){ 1, o->msg, 0 };
		} else {
			r += o->grow;
		}
	}
	while (nd)
		st = model_deferred(defers[--nd], st, &r);
	if (st.panicking)
		return st;
	return (struct outcome){ 0, NULL, r }; /* a recovered panic returns the named result too */
}

/* The same programs on the runtime. */
static uint64_t run_fn(struct fnode *n);

__attribute__((noinline)) static void run_deferred(struct dnode *d, uint64_t *r)
{
	logto(got, &got_n, "d%d ", d->id);
	if (d->recover) {
		const char *m = rt_recover();
		logto(got, &got_n, "R:%s ", m ? m : "-");
	}
	*r += d->add;
	if (d->call)
		*r += run_fn(d->call);
	if (d->panic) {
		logto(got, &got_n, "P:%s ", d->panic);
		rt_panic(d->panic);
	}
}

__attribute__((noinline)) static uint64_t grow_by(uint64_t n)
{
	volatile char pad[200];
	pad[0] = 1;
	return n ? grow_by(n - 1) + pad[0] : 0;
}

RT_DEFERS static uint64_t run_fn(struct fnode *n)
{
	uint64_t r = n->init;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r);
	for (int i = 0; i < n->nops; i++) {
		struct op *o = &n->ops[i];
		if (o->kind == OP_DEFER) {
			rt_defer((void *)run_deferred, 2, (uint64_t)&o->d, (uint64_t)&r);
		} else if (o->kind == OP_CALL) {
			uint64_t v = run_fn(o->child);
			r += v;
		} else if (o->kind == OP_PANIC) {
			logto(got, &got_n, "P:%s ", o->msg);
			rt_panic(o->msg);
		} else {
			r += grow_by(o->grow);
		}
	}
	RT_RETURN(r);
}

static uint64_t model_task(uint64_t root)
{
	return run_fn((struct fnode *)root);
}

static char quiet_buf[1 << 14];
static size_t quiet_len;

static void quiet(const char *s, size_t n)
{
	if (quiet_len + n >= sizeof quiet_buf)
		quiet_len = 0; /* only the last report matters */
	memcpy(quiet_buf + quiet_len, s, n);
	quiet_len += n;
	quiet_buf[quiet_len] = '\0';
}

static void test_random_programs_match_a_model_of_go(void **state)
{
	(void)state;
	rt_test_setup();
	const char *env = getenv("MORESTACK_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed0009;
	int programs = 3000;
	void (*saved)(const char *, size_t) = host_console;
	host_console = quiet; /* thousands of panic reports */
	struct rt_heap_stats h0, h1;
	rt_defer_trim();
	rt_heap_get_stats(&h0);
	uint64_t panicked = 0, recovered = 0;
	for (int p = 0; p < programs; p++) {
		rng = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)p * 2654435761ULL + 1;
		pool_n = dnode_n = msg_n = 0;
		struct fnode *root = gen_fn(0);
		want_n = got_n = 0;
		want[0] = got[0] = '\0';
		struct outcome o = model_fn(root);
		quiet_len = 0;
		quiet_buf[0] = '\0';
		uint64_t v = 0;
		struct rt_task *t = rt_spawn(model_task, (uint64_t)root, "model");
		enum rt_exit_kind k = rt_join(t, &v);
		rt_reap(t);
		char last[32] = "";
		if (o.panicking)
			snprintf(last, sizeof last, "panic: %s\n", o.msg);
		int ok = strcmp(got, want) == 0 &&
			 (o.panicking ? k == RT_EXIT_KILLED && strstr(quiet_buf, last)
				      : k == RT_EXIT_RETURNED && v == o.value) &&
			 rt_defer_pending() == 0;
		panicked += o.panicking;
		recovered += strstr(want, "R:p") != NULL;
		if (!ok) {
			host_console = saved;
			fail_msg("seed %#lx (MORESTACK_SEED=%#lx reruns it), program %d:\n"
				 "  model:   %s -> %s %lu\n  runtime: %s -> %s %lu\n  output: %s",
				 seed, seed, p, want, o.panicking ? o.msg : "returns", o.value, got,
				 k == RT_EXIT_KILLED ? "killed" : "returns", v, quiet_buf);
		}
	}
	host_console = saved;
	rt_defer_trim();
	rt_heap_get_stats(&h1);
	print_message("random programs: seed %#lx, %d programs, %lu ended in a panic, %lu recovered one\n",
		      seed, programs, panicked, recovered);
	assert_true(panicked > (uint64_t)programs / 20 && recovered > (uint64_t)programs / 20); /* the mix is a real one */
	assert_int_equal(h1.objects_live, h0.objects_live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_panic_through_100_frames_recovered_at_the_top),
		cmocka_unit_test(test_recover_elsewhere_returns_nil),
		cmocka_unit_test(test_recover_then_panic_again),
		cmocka_unit_test(test_chained_panics_are_reported_like_go),
		cmocka_unit_test(test_hardware_faults_become_recoverable_panics),
		cmocka_unit_test(test_panic_after_stack_moves),
		cmocka_unit_test(test_panic_in_a_returning_deferred_call_leaks_nothing),
		cmocka_unit_test(test_alloca_survives_a_recovered_panic),
		cmocka_unit_test(test_random_programs_match_a_model_of_go),
	};
	return unit_run("panic", tests);
}
