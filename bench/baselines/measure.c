/* measure.c: the clock, the calibration loop and the BENCH line format. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "measure.h"

/* A calibration run shorter than this is too noisy to scale from. */
#define CALIBRATE_NS   20000000ull
/* Each measured run aims at this long: 5 runs stay under a second. */
#define TARGET_RUN_NS 150000000ull

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_line(const char *bench, const char *impl, double value, const char *unit)
{
	printf("BENCH %s %s %.4g %s\n", bench, impl, value, unit);
	fflush(stdout);
}

void bench_fail(const char *name, const char *message)
{
	fprintf(stderr, "%s: %s\n", name, message);
	exit(1);
}

/* Doubles n until a run is long enough to time, scales n to the target
 * run length, then keeps the fastest of BENCH_RUNS runs: noise on an idle
 * pinned core only ever adds time. */
double best_ns_per_op(bench_body body, void *arg, uint64_t *checksum)
{
	uint64_t n = 1, t0, elapsed;
	double best = 0;

	for (;;) {
		t0 = now_ns();
		*checksum = body(arg, n);
		elapsed = now_ns() - t0;
		if (elapsed >= CALIBRATE_NS)
			break;
		n *= 2;
	}
	n = (uint64_t)((double)n * TARGET_RUN_NS / (double)elapsed) + 1;
	for (int run = 0; run < BENCH_RUNS; run++) {
		double per_op;

		t0 = now_ns();
		*checksum = body(arg, n);
		per_op = (double)(now_ns() - t0) / (double)n;
		if (run == 0 || per_op < best)
			best = per_op;
	}
	return best;
}
