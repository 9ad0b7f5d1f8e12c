/*
 * test_fuzz.c: the randomized differential workload (tests/fuzz) on the
 * Linux port: many seeds, each a fresh mix of tasks, recursion depths,
 * alloca pads, yields and channel traffic, checked against its model.
 *
 * The seeds are new every run unless MORESTACK_FUZZ_SEED fixes the first;
 * MORESTACK_FUZZ_SEEDS sets how many. A failure prints its seed, and
 *     MORESTACK_FUZZ_SEED=<seed> MORESTACK_FUZZ_SEEDS=1 build/rt/test_fuzz
 * replays it.
 */
#include "rt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stackfuzz.h"

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

static void run_all(void) { rt_run(); }

/* Runs n seeds from base; returns how many failed, printing each. */
static uint64_t run_seeds(uint64_t base, uint64_t n, const struct stackfuzz_opts *opts, const char *label)
{
	struct stackfuzz_totals tot = { 0 };
	for (uint64_t i = 0; i < n; i++) {
		struct stackfuzz_result res;
		uint64_t seed = base + i;
		console_reset();
		int rc = stackfuzz_run(seed, opts, run_all, &res);
		if (rc != 0)
			fprintf(stderr, "FUZZ FAIL %s seed %llu: %s (killed %llu, corrupted %llu, deadlocked %llu)\n",
				label, (unsigned long long)seed, res.first_error, (unsigned long long)res.killed,
				(unsigned long long)res.corrupted, (unsigned long long)res.deadlocked);
		stackfuzz_add(&tot, &res, rc);
	}
	uint64_t sc[3];
	rt_stress_counts(sc);
	fprintf(stderr, "fuzz %s: seeds %llu..%llu: %llu of %llu failed; killed %llu, corrupted %llu, "
		"deadlocked %llu; %llu stack moves (move-stress so far: %llu larger, %llu same size, %llu smaller), "
		"%llu values and %llu frames checked; %llu tasks hibernated and woke\n",
		label, (unsigned long long)base, (unsigned long long)(base + n - 1), (unsigned long long)tot.failed,
		(unsigned long long)n, (unsigned long long)tot.killed, (unsigned long long)tot.corrupted,
		(unsigned long long)tot.deadlocked, (unsigned long long)tot.moves, (unsigned long long)sc[0],
		(unsigned long long)sc[1], (unsigned long long)sc[2], (unsigned long long)tot.values,
		(unsigned long long)tot.frames, (unsigned long long)tot.hibernated);
	return tot.failed;
}

static uint64_t base_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return env_u64("MORESTACK_FUZZ_SEED", (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* The default shape: 4 to 16 workers, depths under 400, 24 operations each. */
static void test_fuzz_seeds(void **state)
{
	(void)state;
	rt_test_setup();
	uint64_t n = env_u64("MORESTACK_FUZZ_SEEDS", 200);
	assert_int_equal(run_seeds(base_seed(), n, NULL, "default"), 0);
}

/* Few tasks, deep recursions: big stacks that move many times. */
static void test_fuzz_deep(void **state)
{
	(void)state;
	rt_test_setup();
	struct stackfuzz_opts o = { .workers = 2, .max_depth = 3000, .ops = 12 };
	uint64_t n = env_u64("MORESTACK_FUZZ_SEEDS", 200) / 10 + 1;
	assert_int_equal(run_seeds(base_seed() ^ 0xdeeb, n, &o, "deep"), 0);
}

/* Many tasks, shallow: many small stacks, much channel traffic. */
static void test_fuzz_wide(void **state)
{
	(void)state;
	rt_test_setup();
	struct stackfuzz_opts o = { .workers = 64, .max_depth = 40, .ops = 40 };
	uint64_t n = env_u64("MORESTACK_FUZZ_SEEDS", 200) / 10 + 1;
	assert_int_equal(run_seeds(base_seed() ^ 0x1de, n, &o, "wide"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_seeds),
		cmocka_unit_test(test_fuzz_deep),
		cmocka_unit_test(test_fuzz_wide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
