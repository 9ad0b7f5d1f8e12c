/*
 * fuzz.c: the `fuzz N [SEED]` command: N seeds of the randomized
 * differential workload (tests/fuzz/stackfuzz.c, the same code the Linux
 * port runs in tests/rt/test_fuzz.c), from SEED on, or from a seed taken
 * from the TSC and printed. Each seed's tasks run under run_tasks (so
 * under the move-stress tick if `stress on`). A failing seed prints one
 * line with its seed and its first error; `fuzz 1 SEED` replays it (with
 * stress on, the moves fall elsewhere: the tick is not seeded).
 */
#include "kernel.h"
#include "shell.h"
#include "stop.h"
#include "x86.h"

#include "platform.h"
#include "rt.h"
#include "twins.h"
#include "stackfuzz.h"

#define FUZZ_MAX 100000

void cmd_fuzz(int argc, char **argv)
{
	uint64_t n, seed;
	if (argc < 2 || argc > 3 || parse_u64(argv[1], &n) != 0 || n < 1 || n > FUZZ_MAX) {
		kprintf("fuzz: usage: fuzz N [SEED] (N: 1 to %d seeds; SEED: the first, a decimal number "
			"below 2^64; default: from the TSC)\n", FUZZ_MAX);
		return;
	}
	if (argc == 3 && parse_u64(argv[2], &seed) != 0) {
		kprintf("fuzz: '%s' is not a seed: a decimal number below 2^64 (a failing seed "
			"replays with 'fuzz 1 SEED')\n", argv[2]);
		return;
	}
	if (argc == 2) {
		seed = chain_mix(rdtsc()) % 1000000000000UL; /* twelve digits: easy to retype */
		kprintf("fuzz: seed %lu (from the TSC)\n", seed);
	}
	struct stackfuzz_totals tot = { 0 };
	uint64_t before[3], after[3], t0 = rdtsc(), i;
	rt_stress_counts(before);
	for (i = 0; i < n; i++) {
		struct stackfuzz_result res;
		int rc = stackfuzz_run(seed + i, NULL, run_tasks, &res);
		if (stop_pending()) {
			kprintf("fuzz: Ctrl-C: seed %lu was stopped halfway: not counted\n", seed + i);
			break;
		}
		if (rc != 0)
			kprintf("fuzz: FAIL seed %lu: %s (killed %lu, corrupted %lu, deadlocked %lu); "
				"replay: fuzz 1 %lu\n", seed + i, res.first_error, res.killed, res.corrupted,
				res.deadlocked, seed + i);
		stackfuzz_add(&tot, &res, rc);
	}
	rt_stress_counts(after);
	uint64_t ms = tsc_to_us(rdtsc() - t0) / 1000;
	kprintf("fuzz: seeds %lu..%lu: %lu of %lu failed; killed %lu, corrupted %lu, deadlocked %lu; "
		"%lu stack moves, %lu values and %lu frames checked; move-stress %s: %lu larger, "
		"%lu same size, %lu smaller; %lu ms\n", seed, seed + i - 1, tot.failed, i, tot.killed,
		tot.corrupted, tot.deadlocked, tot.moves, tot.values, tot.frames, rt_stress_moves ? "on" : "off", after[0] - before[0],
		after[1] - before[1], after[2] - before[2], ms);
}
