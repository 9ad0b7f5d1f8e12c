/*
 * test_falsepos.c: how often ordinary data looks like a stack address to
 * the stack mover (docs/stack-moves.md, "Ordinary data that looks like a
 * pointer"), on the Linux port.
 *
 * After a workload has handed out stack addresses (the fuzzer's), each
 * class of everyday data (tests/fuzz/wordclasses.c) is drawn two million
 * times and every word is asked rt_stack_word_could_point, which accepts a
 * superset of every stack range the mover ever adjusts. The structured
 * classes must never hit (stack.c's windows exclude them by construction:
 * the adversarial test below tries the worst cases of each), and the
 * uniformly random words are printed beside their floor, the share of all
 * 2^64 words that the windows hold.
 */
#include "rt_test.h"

#include <stdio.h>

#include "stackfuzz.h"
#include "wordclasses.h"

static void run_all(void) { rt_run(); }

/* Hands out stack addresses: a few fuzzer seeds, deep and wide. */
static void use_some_stacks(void)
{
	struct stackfuzz_result res;
	for (uint64_t seed = 1; seed <= 20; seed++)
		assert_int_equal(stackfuzz_run(seed * 7919, NULL, run_all, &res), 0);
}

static void test_ordinary_data_never_looks_like_a_stack(void **state)
{
	(void)state;
	rt_test_setup();
	use_some_stacks();
	const uint64_t n = 2000000;
	double floor = (double)rt_stack_words_possible() / 18446744073709551616.0;
	fprintf(stderr, "false positives per word, %lu words a class, after %lu MiB of stack addresses "
		"(%lu possible words):\n", n, rt_stack_words_possible() >> 20, rt_stack_words_possible());
	for (unsigned i = 0; i < wordclass_count; i++) {
		const struct wordclass *c = &wordclasses[i];
		uint64_t hits = wordclass_scan(c, 0x5eed0000 + i, n);
		fprintf(stderr, "  %-34s %lu of %lu (%.1e)%s\n", c->name, hits, n, (double)hits / (double)n,
			c->structured ? "; 0 by construction" : "");
		if (!c->structured)
			fprintf(stderr, "  %-34s %.1e (the windows' share of all 2^64 words)\n", "  floor for random words",
				floor);
		if (c->structured)
			assert_int_equal(hits, 0);
		else
			assert_true(hits <= 1); /* expected n * floor, far below 1 */
	}
}

/* A task that grows to about `bytes` and waits. */
static uint64_t grow_and_park(uint64_t bytes)
{
	volatile uint8_t *p = RT_ALLOCA(bytes);
	p[0] = 1;
	rt_park();
	return p[0];
}

/* The worst case of each class, built from real stack addresses: their
 * upper bits kept, the bits a class controls replaced by its values. */
static void test_worst_cases_built_from_real_stack_addresses(void **state)
{
	(void)state;
	rt_test_setup();
	use_some_stacks();
	struct rt_task *parked[8];
	for (int i = 0; i < 8; i++)
		parked[i] = rt_spawn(grow_and_park, 1000UL << (2 * i), "parked");
	rt_run();
	uint64_t tried = 0;
	for (struct rt_task *t = rt_tasks(); t; t = t->all_next) {
		if (!t->stack_lo)
			continue;
		for (uint64_t p = t->stack_lo - RT_STACK_GUARD; p <= t->stack_hi; p += 4093) {
			assert_true(rt_stack_word_could_point(p)); /* the real thing is accepted */
			for (int64_t v = -(1L << 30) + 1; v < (1L << 30); v += (1L << 30) / 7) {
				/* an int32 pair whose upper half is a stack address's */
				assert_false(rt_stack_word_could_point((p & ~0xffffffffUL) | (uint32_t)v));
				/* int16 quads: bits 16..31 small */
				uint64_t q = (p & ~0xffff0000UL) | ((uint64_t)(uint16_t)(v >> 16 & 0x3fff) << 16);
				assert_false(rt_stack_word_could_point(q));
				tried += 2;
			}
			/* eight int8: byte 3 small */
			for (int b = -63; b < 64; b += 9) {
				assert_false(rt_stack_word_could_point((p & ~0xff000000UL) | (uint64_t)(uint8_t)b << 24));
				tried++;
			}
		}
	}
	fprintf(stderr, "worst cases tried from real stack addresses: %lu, none accepted\n", tried);
	assert_true(tried > 1000);
	for (int i = 0; i < 8; i++) {
		rt_ready(parked[i]);
		assert_int_equal(rt_join(parked[i], NULL), RT_EXIT_RETURNED);
		rt_reap(parked[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ordinary_data_never_looks_like_a_stack),
		cmocka_unit_test(test_worst_cases_built_from_real_stack_addresses),
	};
	return unit_run("falsepos", tests);
}
