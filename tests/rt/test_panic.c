/*
 * test_panic.c: panic and recover on the Linux host port: Go's rules for
 * recover, panics through many frames, re-panics, chained reports, and
 * hardware faults as recoverable runtime errors.
 */
#include "rt_test.h"

#include "defer.h"
#include "panic.h"

#include "../../twins/twins.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_panic_through_100_frames_recovered_at_the_top),
		cmocka_unit_test(test_recover_elsewhere_returns_nil),
		cmocka_unit_test(test_recover_then_panic_again),
		cmocka_unit_test(test_chained_panics_are_reported_like_go),
		cmocka_unit_test(test_hardware_faults_become_recoverable_panics),
		cmocka_unit_test(test_panic_after_stack_moves),
	};
	return unit_run("panic", tests);
}
