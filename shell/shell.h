/*
 * tasks.h: what the task commands share (kernel/tasks.c, taskfaults.c,
 * churn.c, bench.c): running the scheduler from the shell, and the
 * recursion whose frames point at their callers' frames.
 */
#ifndef MORESTACK_TASKS_H
#define MORESTACK_TASKS_H
#include <stdbool.h>
#include <stdint.h>

#include "../runtime/rt.h"

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

/*
 * Running a command's task to its end, the same way everywhere (tasks.c).
 * A task that could not start or did not return gives no result: these
 * print why, as "CMD: ...; CONSEQUENCE", where the consequence says what
 * the command will not claim (e.g. "no verdict about Go", "no figure").
 *
 *   task_start   rt_spawn, or NULL after "CMD: cannot start task NAME: out of memory"
 *   task_end     joins t; true (value in *value) if it returned; false after
 *                "CMD: task N (NAME) was killed: REASON" or "did not finish";
 *                reaps t unless it is still parked
 *   task_run     task_start, run_tasks, task_end
 *   task_died    the "was killed" / "did not finish" line alone (t joined, not reaped)
 */
struct rt_task *task_start(const char *cmd, rt_func fn, uint64_t arg, const char *name,
			   const char *consequence);
bool task_end(const char *cmd, struct rt_task *t, uint64_t *value, const char *consequence);
bool task_run(const char *cmd, rt_func fn, uint64_t arg, const char *name, uint64_t *value,
	      const char *consequence);
void task_died(const char *cmd, struct rt_task *t, const char *consequence);
#endif
