/* measure.h: timing and reporting shared by the C baselines.
 *
 * Every baseline prints its results on stdout as
 *     BENCH <benchmark> <implementation> <value> <unit>
 * and everything else (checksums, depths, notes) on stderr, so that
 * stdout can be appended to build/bench/results.txt as it is. */
#ifndef MEASURE_H
#define MEASURE_H

#include <stdint.h>

/* Runs a benchmark body n times and returns a checksum of its work. */
typedef uint64_t (*bench_body)(void *arg, uint64_t n);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

/* Prints one BENCH line on stdout and flushes it. */
void bench_line(const char *bench, const char *impl, double value, const char *unit);

/* Finds an n for which body(arg, n) takes about 150 ms, then runs it
 * BENCH_RUNS times and returns the best (minimum) nanoseconds per call of
 * the body's unit of work; *checksum gets the last run's checksum. */
double best_ns_per_op(bench_body body, void *arg, uint64_t *checksum);

/* Prints "name: message" on stderr and exits with status 1. */
void bench_fail(const char *name, const char *message);

#define BENCH_RUNS 5

#endif
