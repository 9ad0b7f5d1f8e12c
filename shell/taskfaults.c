/*
 * taskfaults.c: tasks that fault on purpose, to show that only they die.
 *   stale            a pointer to a local kept in a global goes stale when
 *                    the stack moves: the task faults, the report names the move
 *   taskfault KIND   a task faults (null, div0, ud, gp)
 */
#include "kernel.h"
#include "shell.h"
#include "x86.h"

#include "chan.h"
#include "heap.h"
#include "platform.h"
#include "rt.h"

static uint64_t *volatile escaped;

__attribute__((noinline)) static void go_deep(uint64_t depth)
{
	volatile char pad[200];
	pad[0] = 1;
	if (depth)
		go_deep(depth - 1);
	(void)pad[0];
}

static uint64_t stale_task(uint64_t arg)
{
	uint64_t local = 42;
	escaped = &local; /* Go would move `local` to the heap; C keeps it on the stack */
	kprintf("stale: task %lu keeps &local = %p in a global, then grows its stack\n",
		rt_current()->id, (void *)escaped);
	go_deep(arg);
	kprintf("stale: local is now at %p; the global still says %p; reading through it...\n",
		(void *)&local, (void *)escaped);
	return *escaped;
}

void cmd_stale(int argc, char **argv)
{
	(void)argc, (void)argv;
	/* The old stack must be unmapped, not cached, for the read to fault. */
	bool reuse = !rt_stack_fault_on_free;
	rt_set_stack_fault_on_free(true);
	struct rt_task *t = task_start("stale", stale_task, 2000, "stale", "nothing to show");
	if (!t) {
		rt_set_stack_fault_on_free(!reuse);
		return;
	}
	run_tasks();
	uint64_t v;
	enum rt_exit_kind k = rt_join(t, &v);
	rt_set_stack_fault_on_free(!reuse);
	kprintf(k == RT_EXIT_KILLED ? "stale: task %lu died; the shell goes on\n"
				   : "stale: task %lu read %lu: the stale pointer did not fault\n", t->id, v);
	rt_reap(t);
}

static uint64_t fault_task(uint64_t kind)
{
	volatile uint64_t zero = 0;
	switch (kind) {
	case 0:
		return *(volatile uint64_t *)(zero + 16);
	case 1: {
		uint64_t hi = 0, lo = 1, d = zero;
		__asm__ volatile("divq %2" : "+a"(lo), "+d"(hi) : "r"(d));
		return lo;
	}
	case 2:
		__asm__ volatile("ud2");
		return 0;
	default:
		return *(volatile uint64_t *)0x8000000000000000ULL;
	}
}

void cmd_taskfault(int argc, char **argv)
{
	static const char *const kinds[] = { "null", "div0", "ud", "gp" };
	uint64_t k = 4;
	for (uint64_t i = 0; argc == 2 && i < 4; i++)
		if (strcmp(argv[1], kinds[i]) == 0)
			k = i;
	if (k == 4) {
		kprintf("taskfault: usage: taskfault null|div0|ud|gp\n");
		return;
	}
	struct rt_task *t = task_start("taskfault", fault_task, k, "faulty", "nothing to show");
	if (!t)
		return;
	run_tasks();
	enum rt_exit_kind e = rt_join(t, NULL);
	kprintf("taskfault: task %lu %s; the shell goes on\n", t->id,
		e == RT_EXIT_KILLED ? "was killed" : "returned normally (no fault?)");
	rt_reap(t);
}
