/*
 * test_preempt.c: stopping tasks (runtime/preempt.c) on the Linux port,
 * where a timer's SIGALRM plays the shell's Ctrl-C (host_stop_after).
 *
 * The examples: a task that never calls anything dies at an interrupt; tasks
 * that yield die at a safe point or unrun; parked tasks leave their
 * channel's queue and die, and the channel still works; tasks parked
 * before the stop's first id are spared. Then the model test: the fuzzer's
 * seeded workload (tests/fuzz) stopped at a random moment must end with
 * nothing corrupted, nothing left blocked and no stack memory kept, and
 * the runtime must run the next seed exactly as its model says. A failing
 * seed is printed; MORESTACK_PREEMPT_SEED=<seed> MORESTACK_PREEMPT_SEEDS=1
 * build/rt/test_preempt replays it.
 */
#include "rt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"
#include "stackfuzz.h"

#define WHY "stopped by the test"

static volatile uint64_t spins;
static volatile int release;

__attribute__((noinline)) static uint64_t spin(uint64_t arg)
{
	while (!release)
		spins++;
	return arg;
}

static uint64_t yielder(uint64_t arg)
{
	while (!release) {
		spins++;
		rt_yield();
	}
	return arg;
}

static uint64_t committed(void)
{
	struct rt_global_stats s;
	rt_get_stats(&s);
	return s.stack_bytes_committed;
}

static void counts(uint64_t c[3])
{
	rt_stop_counts(c);
}

static void test_a_spinning_task_dies_at_an_interrupt(void **state)
{
	(void)state;
	rt_test_setup();
	console_reset();
	uint64_t before[3], after[3], mem = committed();
	counts(before);
	struct rt_task *t = rt_spawn(spin, 7, "spinner");
	assert_non_null(t);
	host_stop_after(20000, WHY, rt_next_task_id());
	uint64_t v = 0;
	assert_int_equal(rt_join(t, &v), RT_EXIT_KILLED);
	host_stop_cancel();
	assert_string_equal(t->kill_reason, WHY);
	counts(after);
	assert_int_equal(after[0] - before[0], 1); /* at an interrupt: it never enters the runtime */
	expect_console("(spinner) stopped at pc");
	expect_console("<spin"); /* the pc is named: it was the task's own code */
	rt_reap(t);
	assert_int_equal(committed(), mem);
	assert_false(rt_stop_requested());
}

static void test_yielding_tasks_die_at_safe_points_or_unrun(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t before[3], after[3], mem = committed();
	counts(before);
	enum { N = 50 };
	struct rt_task *ts[N];
	for (int i = 0; i < N; i++)
		assert_non_null(ts[i] = rt_spawn(yielder, (uint64_t)i, "yielder"));
	host_stop_after(10000, WHY, rt_next_task_id());
	rt_run();
	host_stop_cancel();
	for (int i = 0; i < N; i++) {
		assert_int_equal(rt_join(ts[i], NULL), RT_EXIT_KILLED);
		assert_string_equal(ts[i]->kill_reason, WHY);
		rt_reap(ts[i]);
	}
	counts(after);
	uint64_t total = (after[0] - before[0]) + (after[1] - before[1]) + (after[2] - before[2]);
	assert_int_equal(total, N);
	assert_true(after[2] - before[2] >= N - 1); /* one was running; the others never ran again */
	assert_int_equal(committed(), mem);
}

static uint64_t asks_then_yields(uint64_t arg)
{
	rt_stop_request(WHY, 0);
	rt_yield(); /* a safe point: it dies here, not later */
	return arg;
}

static void test_a_task_dies_at_its_next_safe_point(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t before[3], after[3];
	counts(before);
	struct rt_task *t = rt_spawn(asks_then_yields, 1, "asker");
	assert_int_equal(rt_join(t, NULL), RT_EXIT_KILLED);
	rt_stop_clear();
	counts(after);
	assert_int_equal(after[1] - before[1], 1);
	assert_string_equal(t->kill_reason, WHY);
	rt_reap(t);
}

static struct rt_chan *never; /* nobody sends on it while the stop stands */

static uint64_t receiver(uint64_t arg)
{
	uint64_t v = 0;
	rt_chan_recv(never, &v);
	return v + arg;
}

static uint64_t joiner(uint64_t arg)
{
	uint64_t v = 0;
	rt_join((struct rt_task *)arg, &v);
	return v;
}

static uint64_t sender(uint64_t arg)
{
	rt_chan_send(never, &arg);
	return 0;
}

static void test_parked_tasks_leave_their_queues_and_die(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t mem = committed();
	never = rt_chan_make(sizeof(uint64_t), 0);
	assert_non_null(never);
	/* An earlier command's task, parked before the stop's first id: spared. */
	struct rt_task *old = rt_spawn(receiver, 1000, "old-receiver");
	rt_run();
	assert_int_equal(old->state, RT_PARKED);
	uint64_t first = rt_next_task_id();
	struct rt_task *r1 = rt_spawn(receiver, 1, "receiver");
	struct rt_task *r2 = rt_spawn(receiver, 2, "receiver");
	struct rt_task *j = rt_spawn(joiner, (uint64_t)r1, "joiner");
	struct rt_task *s = rt_spawn(spin, 0, "spinner");
	host_stop_after(20000, WHY, first);
	rt_run();
	host_stop_cancel();
	struct rt_task *mine[] = { r1, r2, j, s };
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(mine[i]->state, RT_DONE);
		assert_int_equal(mine[i]->exit_kind, RT_EXIT_KILLED);
		assert_non_null(strstr(mine[i]->kill_reason, WHY));
	}
	assert_non_null(strstr(r1->kill_reason, "(in chan receive)"));
	for (unsigned i = 0; i < 4; i++)
		rt_reap(mine[i]);
	/* The channel's queue holds the spared task alone: a send reaches it. */
	assert_int_equal(old->state, RT_PARKED);
	struct rt_task *snd = rt_spawn(sender, 5, "sender");
	uint64_t v = 0;
	assert_int_equal(rt_join(snd, NULL), RT_EXIT_RETURNED);
	assert_int_equal(rt_join(old, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 1005);
	rt_reap(snd);
	rt_reap(old);
	rt_chan_free(never);
	assert_int_equal(committed(), mem);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

static void run_all(void) { rt_run(); }

static uint64_t rng_next(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/*
 * The model test. Each seed: the fuzzer's workload, stopped after a random
 * delay of up to 40 ms (most runs stop halfway, some finish first and the
 * stop is cancelled unused); then seed + 1 unstopped, which must match its
 * model exactly.
 */
static void test_random_stops_against_the_fuzz_model(void **state)
{
	(void)state;
	rt_test_setup();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t base = env_u64("MORESTACK_PREEMPT_SEED", (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
	uint64_t n = env_u64("MORESTACK_PREEMPT_SEEDS", 60), stopped = 0, failed = 0, killed = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t seed = base + 2 * i, rng = seed ^ 0x5707;
		struct stackfuzz_result res, next;
		console_reset();
		uint64_t mem = committed();
		host_stop_after(1 + (unsigned)(rng_next(&rng) % 40000), WHY, rt_next_task_id());
		stackfuzz_run(seed, NULL, run_all, &res);
		host_stop_cancel();
		stopped += res.killed != 0;
		killed += res.killed;
		const char *bad = res.corrupted ? "a task saw corrupted data"
				  : res.deadlocked ? "a task was left blocked"
				  : committed() != mem ? "stack memory was kept"
				  : NULL;
		if (!bad) {
			int rc = stackfuzz_run(seed + 1, NULL, run_all, &next);
			if (rc != 0)
				bad = "the next, unstopped seed failed its model";
		}
		if (bad) {
			failed++;
			fprintf(stderr, "PREEMPT FAIL seed %llu: %s (killed %llu, corrupted %llu, deadlocked %llu; %s); "
				"replay: MORESTACK_PREEMPT_SEED=%llu MORESTACK_PREEMPT_SEEDS=1 build/rt/test_preempt\n",
				(unsigned long long)seed, bad, (unsigned long long)res.killed,
				(unsigned long long)res.corrupted, (unsigned long long)res.deadlocked,
				res.first_error, (unsigned long long)seed);
		}
	}
	uint64_t c[3];
	counts(c);
	fprintf(stderr, "preempt: seeds %llu..%llu (every other): %llu of %llu failed; %llu stopped halfway, "
		"%llu tasks killed; stops so far: %llu at an interrupt, %llu at a safe point, %llu unrun or parked\n",
		(unsigned long long)base, (unsigned long long)(base + 2 * n - 2), (unsigned long long)failed,
		(unsigned long long)n, (unsigned long long)stopped, (unsigned long long)killed,
		(unsigned long long)c[0], (unsigned long long)c[1], (unsigned long long)c[2]);
	assert_int_equal(failed, 0);
	/* The delays must really stop most runs halfway, or this tests nothing. */
	assert_true(stopped * 4 >= n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_spinning_task_dies_at_an_interrupt),
		cmocka_unit_test(test_a_task_dies_at_its_next_safe_point),
		cmocka_unit_test(test_yielding_tasks_die_at_safe_points_or_unrun),
		cmocka_unit_test(test_parked_tasks_leave_their_queues_and_die),
		cmocka_unit_test(test_random_stops_against_the_fuzz_model),
	};
	return unit_run("preempt", tests);
}
