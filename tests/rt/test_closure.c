/*
 * test_closure.c: closures on the Linux host port: Go's counter generator,
 * two closures sharing a variable, arguments passing through, the pool
 * (10,000 closures, freed and reused), an environment in a stack that
 * moves, and no mapping both writable and executable.
 */
#include "rt_test.h"

#include "closure.h"

#include "../../twins/twins.h"

/* Go's counter generator and the shared closures: twins/closure.c. */
static uint64_t (*counter(void))(void)
{
	return (uint64_t (*)(void))twin_counter_new();
}

static void free_counter(uint64_t (*f)(void))
{
	assert_int_equal(twin_counter_free((void *)f), 0);
}

static void test_counter_generator_keeps_its_own_state(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t (*f)(void) = counter(), (*g)(void) = counter();
	assert_int_equal(f(), 1);
	assert_int_equal(f(), 2);
	assert_int_equal(f(), 3);
	assert_int_equal(g(), 1); /* a second counter has its own x */
	assert_int_equal(f(), 4);
	assert_true(rt_closure_is((void *)f));
	assert_ptr_equal(rt_closure_code((void *)f), counter_next);
	free_counter(f);
	free_counter(g);
	assert_int_equal(rt_closure_free_checked((void *)f), -1); /* already free */
	assert_int_equal(rt_closure_free_checked((void *)test_counter_generator_keeps_its_own_state), -1);
}

/* Two closures over one variable: inc and get share x. */

static void test_two_closures_share_a_variable(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t *x = rt_alloc(sizeof *x);
	void (*inc)(void) = (void (*)(void))rt_closure_new(shared_inc, x);
	uint64_t (*get)(void) = (uint64_t (*)(void))rt_closure_new(shared_get, x);
	inc();
	inc();
	assert_int_equal(get(), 2);
	*x = 40;
	inc();
	assert_int_equal(get(), 41);
	rt_closure_free((void *)inc);
	rt_closure_free((void *)get);
	rt_free(x);
}

/* Five arguments reach the body after the environment, in order. */
RT_CLOSURE_CODE(weigh, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
uint64_t weigh_body(void *env, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return *(uint64_t *)env + a + 10 * b + 100 * c + 1000 * d + 10000 * e;
}

static void test_arguments_pass_through(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t base = 700000;
	uint64_t (*f)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) =
		(uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t))rt_closure_new(weigh, &base);
	assert_int_equal(f(1, 2, 3, 4, 5), 754321);
	rt_closure_free((void *)f);
}

RT_CLOSURE_CODE(ident, uint64_t);
uint64_t ident_body(void *env) { return (uint64_t)env; }

static void test_ten_thousand_closures_and_reuse(void **state)
{
	(void)state;
	rt_test_setup();
	enum { N = 10000 };
	static void *fns[N];
	for (int round = 0; round < 2; round++) {
		struct rt_closure_stats before, after;
		rt_closure_get_stats(&before);
		for (uint64_t i = 0; i < N; i++)
			assert_non_null(fns[i] = rt_closure_new(ident, (void *)(i * 7 + 1)));
		for (uint64_t i = 0; i < N; i++)
			assert_int_equal(((uint64_t (*)(void))fns[i])(), i * 7 + 1);
		for (uint64_t i = 0; i < N; i++)
			rt_closure_free(fns[i]);
		rt_closure_get_stats(&after);
		assert_int_equal(after.live, before.live);
		if (round == 1) /* the second round reuses every page of the first */
			assert_int_equal(after.pages, before.pages);
	}
}

/* The pool is finite: when it is full, rt_closure_new says so (NULL), and a
 * freed trampoline is the next one handed out. */
static void test_pool_exhaustion_and_reuse(void **state)
{
	(void)state;
	rt_test_setup();
	enum { MAX = 4096 * 64 }; /* MAX_PAGES * stubs per page, see closure.c */
	static void *fns[MAX + 1];
	struct rt_closure_stats s0;
	rt_closure_get_stats(&s0);
	uint64_t n = 0;
	while (n <= MAX && (fns[n] = rt_closure_new(ident, (void *)n)))
		n++;
	assert_int_equal(n + s0.live, MAX); /* the pool held exactly MAX */
	void *again = rt_closure_new(ident, NULL);
	assert_null(again);
	rt_closure_free(fns[123]);
	void *reused = rt_closure_new(ident, (void *)77);
	assert_ptr_equal(reused, fns[123]);
	assert_int_equal(((uint64_t (*)(void))reused)(), 77);
	fns[123] = reused;
	for (uint64_t i = 0; i < n; i++)
		rt_closure_free(fns[i]);
}

/* A closure over a local: its environment is in the stack, and moves with it. */
struct frame_env {
	uint64_t value;
};

RT_CLOSURE_CODE(read_frame, uint64_t);
uint64_t read_frame_body(void *env) { return ((struct frame_env *)env)->value; }

__attribute__((noinline)) static uint64_t deep_then_call(uint64_t (*f)(void), uint64_t n)
{
	volatile char pad[200];
	pad[0] = 1;
	uint64_t r = n ? deep_then_call(f, n - 1) : f();
	return r + pad[0] - 1;
}

static uint64_t stack_env_task(uint64_t arg)
{
	(void)arg;
	struct frame_env local = { 0xfeed };
	uint64_t (*f)(void) = (uint64_t (*)(void))rt_closure_new(read_frame, &local);
	uint64_t got = deep_then_call(f, 20000); /* grows: local moves, the env follows */
	uint64_t ok = got == 0xfeed && rt_closure_env((void *)f) == (void *)&local &&
		      rt_current()->stats.grows > 0;
	rt_closure_free((void *)f);
	return ok;
}

static void test_stack_environment_follows_a_move(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t ok = 0;
	struct rt_task *t = rt_spawn(stack_env_task, 0, "closure");
	assert_int_equal(rt_join(t, &ok), RT_EXIT_RETURNED);
	assert_true(ok);
	rt_reap(t);
}

/* No mapping of this process is writable and executable. */
static void test_no_writable_executable_mapping(void **state)
{
	(void)state;
	rt_test_setup();
	void *f = rt_closure_new(ident, NULL);
	FILE *maps = fopen("/proc/self/maps", "r");
	assert_non_null(maps);
	char line[512];
	int wx = 0, stubs = 0;
	while (fgets(line, sizeof line, maps)) {
		char perms[5] = "";
		if (sscanf(line, "%*s %4s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') {
			fprintf(stderr, "W+X mapping: %s", line);
			wx++;
		}
		if (strstr(line, "morestack-closure-stubs"))
			stubs++;
	}
	fclose(maps);
	assert_int_equal(wx, 0);
	assert_true(stubs > 0); /* the code pages come from the stub memfd */
	rt_closure_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_generator_keeps_its_own_state),
		cmocka_unit_test(test_two_closures_share_a_variable),
		cmocka_unit_test(test_arguments_pass_through),
		cmocka_unit_test(test_ten_thousand_closures_and_reuse),
		cmocka_unit_test(test_pool_exhaustion_and_reuse),
		cmocka_unit_test(test_stack_environment_follows_a_move),
		cmocka_unit_test(test_no_writable_executable_mapping),
	};
	return unit_run("closure", tests);
}
