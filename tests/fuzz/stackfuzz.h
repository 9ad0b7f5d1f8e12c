/*
 * stackfuzz.h: a randomized differential workload for the runtime, the
 * same code on the Linux port (tests/rt/test_fuzz.c, `make fuzz`) and on
 * bare metal (the shell's `fuzz` command, tests/qemu/test_fuzz.py).
 *
 * One seed decides everything: how many tasks, and for each task a list of
 * operations (recurse to a random depth with random alloca pads, yield,
 * an exchange with a hub task over one unbuffered channel, a pass through
 * a small buffered channel, spawn and join a child; in half the seeds,
 * each yield first puts every parked task to sleep, rt_hibernate_parked). Every task checks its
 * own frames and every value it receives against what the seed says it
 * must be (the model), and returns a checksum the model predicts.
 */
#ifndef MORESTACK_STACKFUZZ_H
#define MORESTACK_STACKFUZZ_H
#include <stdint.h>

struct stackfuzz_result {
	uint64_t tasks;        /* tasks that ran (workers, hub, children) */
	uint64_t killed;       /* tasks the runtime killed */
	uint64_t corrupted;    /* tasks that saw a wrong frame or value, or returned a wrong sum */
	uint64_t deadlocked;   /* tasks left blocked when nothing could run */
	uint64_t moves;        /* stack moves (grows + shrinks) in all tasks */
	uint64_t values;       /* channel values checked */
	uint64_t frames;       /* frames checked */
	uint64_t leaked_bytes; /* stack bytes still committed after the run */
	uint64_t hibernated;   /* parked tasks put to sleep and woken (half the seeds) */
	char first_error[160]; /* what the first failure was */
};

/* Sums over many seeds (stackfuzz_add), for the summary lines. */
struct stackfuzz_totals {
	uint64_t seeds, failed, killed, corrupted, deadlocked, moves, values, frames, hibernated;
};

/* Adds one seed's result (rc: what stackfuzz_run returned) to t. */
void stackfuzz_add(struct stackfuzz_totals *t, const struct stackfuzz_result *res, int rc);

/* The options a run may take; zero means the default. */
struct stackfuzz_opts {
	uint64_t workers;      /* worker tasks (default: 4 to 16, from the seed) */
	uint64_t max_depth;    /* deepest recursion (default 400) */
	uint64_t ops;          /* operations per worker (default 24) */
};

/*
 * Runs one seeded workload to the end. run_tasks() must run the scheduler
 * until nothing is runnable (rt_run, with whatever the platform needs
 * around it). Returns 0 if nothing was killed, corrupted, deadlocked or
 * leaked; otherwise -1, with first_error saying what.
 */
int stackfuzz_run(uint64_t seed, const struct stackfuzz_opts *opts, void (*run_tasks)(void),
		  struct stackfuzz_result *res);
#endif
