/*
 * tasks.h: what the task commands share (kernel/tasks.c, taskfaults.c,
 * churn.c, bench.c): running the scheduler from the shell, and the
 * recursion whose frames point at their callers' frames.
 */
#ifndef MORESTACK_TASKS_H
#define MORESTACK_TASKS_H
#include <stdbool.h>
#include <stdint.h>

struct link {
	struct link *up;
	uint64_t depth, check;
};

struct grow_job {
	uint64_t depth;
	uint64_t frame_bytes; /* extra bytes each frame takes (alloca), 0 for none */
	bool park;            /* wait at the bottom until resumed */
	uint64_t grows_seen;
	uint64_t checks, broken;
};

void run_tasks(void);
int parse_u64(const char *s, uint64_t *out);
uint64_t mix(uint64_t x);
uint64_t recurse(struct grow_job *job, struct link *up, uint64_t depth);
uint64_t expected_checksum(uint64_t depth);
uint64_t rtplat_pool_frames(void);
#endif
