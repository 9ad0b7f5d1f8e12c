/*
 * test_defer.c: defer on the Linux host port: Go's programs of
 * GO_SEMANTICS.md section 2 (their C twins in twins/defer.c) checked
 * against what Go 1.19 prints, then what defer must survive.
 */
#include "rt_test.h"

#include "../../twins/twins.h"

#include "closure.h"
#include "defer.h"
#include "platform.h"

static void test_incr_and_incrn_print_0_1_and_0_2(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t a = 0, b;
	b = twin_incr(a);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	b = twin_incrn(a);
	assert_int_equal(a, 0);
	assert_int_equal(b, 2);
	assert_int_equal(rt_defer_pending(), 0);
}

static void test_defer_arg_is_1_and_defer_closure_is_5(void **state)
{
	(void)state;
	rt_test_setup();
	assert_int_equal(twin_defer_arg(), 1);
	assert_int_equal(twin_defer_closure(), 5);
}

static void test_lifo_order_2_1_0(void **state)
{
	(void)state;
	rt_test_setup();
	char out[16];
	twin_lifo(out, sizeof out);
	assert_string_equal(out, "2 1 0");
}

/* Notes single digits, for the tests below. */
static char order[64];
static size_t order_len;

static void note(uint64_t i)
{
	order[order_len++] = (char)('0' + i);
	order[order_len] = '\0';
}

/* A closure over a frame's r and x: func() { r = x }. */
struct rx {
	uint64_t *r, *x;
};

RT_CLOSURE_CODE(copy_x, void);
void copy_x_body(void *env)
{
	struct rx *e = env;
	*e->r = *e->x;
}

/* 10,000 defers in one frame: records in the heap, all run, newest first. */
static uint64_t last_seen, out_of_order, ran;

static void check_order(uint64_t i)
{
	if (ran && i != last_seen - 1)
		out_of_order++;
	last_seen = i;
	ran++;
}

RT_DEFERS static uint64_t many_defers(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rt_defer((void *)check_order, 1, i);
	RT_RETURN(rt_defer_pending());
}

static void test_ten_thousand_defers_in_one_frame(void **state)
{
	(void)state;
	rt_test_setup();
	struct heap_stats h0, h1;
	rt_defer_trim();
	heap_get_stats(&h0);
	ran = out_of_order = 0;
	assert_int_equal(many_defers(10000), 10000);
	assert_int_equal(ran, 10000);
	assert_int_equal(out_of_order, 0);
	assert_int_equal(last_seen, 0);
	rt_defer_trim(); /* the record cache keeps up to 256 of them for reuse */
	heap_get_stats(&h1);
	assert_int_equal(h1.objects_live, h0.objects_live); /* every record freed */
}

/* A deferring function whose stack moves before it returns: the records follow. */
__attribute__((noinline)) static uint64_t deep(uint64_t n)
{
	volatile char pad[200];
	pad[0] = 1;
	return n ? deep(n - 1) + pad[0] : 0;
}

RT_DEFERS static uint64_t defers_then_grows(uint64_t n)
{
	uint64_t r = 0, x = 1;
	rt_defer_result(&r);
	struct rx env = { &r, &x };
	void *f = rt_closure_new(copy_x, &env);
	rt_defer((void *)rt_closure_free, 1, (uint64_t)f);
	rt_defer(f, 0);
	x = 7 + deep(n); /* grows: r, x, env and the frame record all move */
	RT_RETURN(0);
}

static uint64_t grow_task(uint64_t n)
{
	uint64_t v = defers_then_grows(n);
	return v == 7 + n && rt_current()->stats.grows > 0 && rt_defer_pending() == 0;
}

static void test_defers_survive_a_stack_move(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(grow_task, 20000, "grower");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_reap(t);
}

static uint64_t spin(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rt_yield();
	return 0;
}

/* A deferring function whose stack shrinks (it yields from a shallow
 * point after growing deep) before it returns: the records follow. */
RT_DEFERS static uint64_t defers_grows_yields(uint64_t n)
{
	uint64_t r = 0, x = 3;
	rt_defer_result(&r);
	struct rx env = { &r, &x };
	void *f = rt_closure_new(copy_x, &env);
	rt_defer((void *)rt_closure_free, 1, (uint64_t)f);
	rt_defer(f, 0);
	x += deep(n);            /* grows to a few MiB and comes back */
	for (int i = 0; i < 12; i++)
		rt_yield();      /* each yield may halve the stack: r, x, env, records move */
	RT_RETURN(0);
}

static uint64_t shrink_task(uint64_t n)
{
	uint64_t v = defers_grows_yields(n);
	return v == 3 + n && rt_current()->stats.shrinks >= 3;
}

static void test_defers_survive_a_stack_shrink(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(shrink_task, 20000, "shrinker");
	struct rt_task *other = rt_spawn(spin, 20, "spinner");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_join(other, NULL);
	rt_reap(t);
	rt_reap(other);
}

/* A backtrace taken inside a deferred call shows the deferring function's caller. */
static char seen[1024];

static void take_backtrace(void)
{
	uintptr_t *fp = __builtin_frame_address(0);
	seen[0] = '\0';
	for (int i = 0; fp && i < 12; i++) {
		char name[96];
		if (plat_symbolize(fp[1] - 1, name, sizeof name)) {
			strncat(seen, name, sizeof seen - strlen(seen) - 2);
			strcat(seen, " ");
		}
		fp = (uintptr_t *)fp[0];
	}
}

RT_DEFERS static void defers_a_backtrace(void)
{
	rt_defer((void *)take_backtrace, 0);
	RT_RETURN_VOID();
}

__attribute__((noinline)) static void the_true_caller(void)
{
	defers_a_backtrace();
	__asm__ volatile("" ::: "memory");
}

static void test_backtrace_in_a_deferred_call_shows_the_callers(void **state)
{
	(void)state;
	rt_test_setup();
	the_true_caller();
	if (!strstr(seen, "rt_defer_run+") || !strstr(seen, "the_true_caller+") ||
	    !strstr(seen, "test_backtrace_in_a_deferred_call_shows_the_callers+"))
		fail_msg("backtrace from a deferred call: %s", seen);
}

/* A deferred call may yield, and a deferred call may defer. */
RT_DEFERS static void inner_defers(void)
{
	rt_defer((void *)note, 1, 9);
	RT_RETURN_VOID();
}

static void yield_then_defer(uint64_t i)
{
	rt_yield();
	note(i);
	inner_defers();
}

RT_DEFERS static uint64_t yielding_defers(uint64_t arg)
{
	(void)arg;
	rt_defer((void *)yield_then_defer, 1, 1);
	rt_defer((void *)yield_then_defer, 1, 2);
	RT_RETURN(0);
}


static void test_deferred_calls_may_yield_and_defer(void **state)
{
	(void)state;
	rt_test_setup();
	order_len = 0;
	struct rt_task *a = rt_spawn(yielding_defers, 0, "deferrer");
	struct rt_task *b = rt_spawn(spin, 10, "spinner");
	assert_int_equal(rt_join(a, NULL), RT_EXIT_RETURNED);
	rt_join(b, NULL);
	assert_string_equal(order, "2919");
	rt_reap(a);
	rt_reap(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incr_and_incrn_print_0_1_and_0_2),
		cmocka_unit_test(test_defer_arg_is_1_and_defer_closure_is_5),
		cmocka_unit_test(test_lifo_order_2_1_0),
		cmocka_unit_test(test_ten_thousand_defers_in_one_frame),
		cmocka_unit_test(test_defers_survive_a_stack_move),
		cmocka_unit_test(test_defers_survive_a_stack_shrink),
		cmocka_unit_test(test_backtrace_in_a_deferred_call_shows_the_callers),
		cmocka_unit_test(test_deferred_calls_may_yield_and_defer),
	};
	return unit_run("defer", tests);
}
