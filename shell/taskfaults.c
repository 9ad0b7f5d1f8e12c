/*
 * taskfaults.c: tasks that fault on purpose, to show that only they die.
 *   stale            a pointer to a local kept in a global goes stale when
 *                    the stack moves: the task faults, the report names the move
 *   taskfault KIND   a task faults (null, div0, ud, gp)
 *   hang KIND [N]    tasks that never end, for Ctrl-C to stop
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

/*
 * hang KIND [N]: tasks that never end by themselves, for Ctrl-C to stop
 * (kernel/stop.c, runtime/preempt.c):
 *   spin   a task loops without a call: it can only be stopped at an interrupt
 *   deep   the same, 2,000 frames down (a stack grown to about 512 KiB)
 *   print  a task prints forever: mostly inside the console, where it may not
 *          be stopped, so the stop waits for an instruction outside it
 *   yield  N tasks (default 8) loop and yield: one dies at a safe point,
 *          the others unrun
 * Then: how each ended, and the stack memory before and after.
 */
static volatile uint64_t hang_spins;
static volatile bool hang_release; /* never set: only a stop ends the loops */

__attribute__((noinline)) static uint64_t hang_spin(void)
{
	while (!hang_release)
		hang_spins++;
	return hang_spins;
}

__attribute__((noinline)) static uint64_t hang_deep(uint64_t depth)
{
	volatile char pad[200];
	pad[0] = (char)depth;
	if (depth)
		return hang_deep(depth - 1) + pad[0];
	return hang_spin();
}

static uint64_t hang_task(uint64_t kind)
{
	switch (kind) {
	case 0:
		return hang_spin();
	case 1:
		return hang_deep(2000);
	case 2:
		for (uint64_t i = 0; !hang_release; i++)
			kprintf("hang: line %lu\n", i);
		return 0;
	default:
		while (!hang_release) {
			hang_spins++;
			rt_yield();
		}
		return 0;
	}
}

void cmd_hang(int argc, char **argv)
{
	static const char *const kinds[] = { "spin", "deep", "print", "yield" };
	uint64_t k = 4, n = 1;
	for (uint64_t i = 0; argc >= 2 && i < 4; i++)
		if (strcmp(argv[1], kinds[i]) == 0)
			k = i;
	if (k == 4 || argc > 3 || (argc == 3 && (k != 3 || parse_u64(argv[2], &n) != 0 || n == 0 ||
						  n > 1000))) {
		kprintf("hang: usage: hang spin|deep|print|yield [N] (N tasks for yield: 1 to 1000, "
			"default 8); stop it with Ctrl-C\n");
		return;
	}
	if (k == 3 && argc == 2)
		n = 8;
	struct rt_task *ts[1000];
	struct rt_global_stats before, after;
	rt_get_stats(&before);
	uint64_t made = 0, killed = 0;
	for (; made < n; made++)
		if (!(ts[made] = task_start("hang", hang_task, k, kinds[k], "nothing to stop")))
			break;
	kprintf("hang: %lu task%s (%s) running; Ctrl-C stops %s\n", made, made == 1 ? "" : "s",
		kinds[k], made == 1 ? "it" : "them");
	run_tasks();
	for (uint64_t i = 0; i < made; i++) {
		if (rt_join(ts[i], NULL) == RT_EXIT_KILLED && !killed++)
			task_died("hang", ts[i], "it ends here");
		rt_reap(ts[i]);
	}
	rt_get_stats(&after);
	uint64_t c[3];
	rt_stop_counts(c);
	kprintf("hang: %lu of %lu tasks stopped; stops so far: %lu at an interrupt, %lu at a safe "
		"point, %lu unrun or parked\n", killed, made, c[0], c[1], c[2]);
	kprintf("hang: stack memory mapped %lu KiB before, %lu KiB after\n",
		before.stack_bytes_committed >> 10, after.stack_bytes_committed >> 10);
}
