/*
 * tasks.c: shell commands that run and show runtime tasks on bare metal.
 *
 *   grow DEPTH [B]   a task recurses DEPTH frames (each B bytes bigger), each
 *                    holding a pointer to its caller's locals; the whole
 *                    chain is checked after every move and on the way back up
 *   spawn DEPTH      the same, but the task parks at the bottom (see `tasks`,
 *                    `stack N`); `resume N` lets it unwind and finish
 *   tasks, stack N   a ps-like list; one task's stack and frames
 *   trace on|off     log every stack move as it happens
 *   stacklimit [N]   show or set the limit (bytes)
 *
 * Faults in tasks are in taskfaults.c, churn in churn.c, bench in bench.c.
 *
 * Tasks run with interrupts off, unless the move-stress switch is on
 * (`stress`, stress.c): then its timer ticks while they run. Either is
 * safe for their stacks: every interrupt gate switches to an IST stack
 * (idt.c), so no interrupt frame lands on a task stack, which may be one
 * page from its guard.
 */
#include "kernel.h"
#include "shell.h"
#include "stop.h"
#include "x86.h"

#include "chan.h"
#include "defer.h"
#include "heap.h"
#include "platform.h"
#include "rt.h"
#include "twins.h"

/* Runs the scheduler until nothing is runnable, with interrupts on (a
 * Ctrl-C stops the tasks: kernel/stop.c) and the timer's tick armed for
 * whoever wants it (the move-stress switch, a stop's retries). */
void run_tasks(void)
{
	if (rt_current()) {
		rt_run(); /* (does nothing in a task) */
		return;
	}
	uint64_t flags = read_rflags();
	cli();
	tick_begin();
	sti(); /* a Ctrl-C and the ticks reach the tasks */
	rt_run();
	cli();
	tick_end();
	if (flags & 0x200)
		sti();
}

struct rt_task *task_start(const char *cmd, rt_func fn, uint64_t arg, const char *name,
			   const char *consequence)
{
	struct rt_task *t = rt_spawn(fn, arg, name);
	if (!t)
		kprintf("%s: cannot start task '%s': out of memory\n%s: %s\n", cmd, name, cmd,
			consequence);
	return t;
}

void task_died(const char *cmd, struct rt_task *t, const char *consequence)
{
	if (t->state == RT_DONE && t->exit_kind == RT_EXIT_KILLED)
		kprintf("%s: task %lu (%s) was killed: %s\n%s: %s\n", cmd, t->id, t->name,
			t->kill_reason[0] ? t->kill_reason : "(no reason recorded)", cmd, consequence);
	else if (t->state != RT_DONE)
		kprintf("%s: task %lu (%s) did not finish: it waits for something nobody will do\n"
			"%s: it stays in 'tasks'; %s\n", cmd, t->id, t->name, cmd, consequence);
}

bool task_end(const char *cmd, struct rt_task *t, uint64_t *value, const char *consequence)
{
	uint64_t v = 0;
	enum rt_exit_kind k = rt_join(t, &v);
	if (k == RT_EXIT_RETURNED) {
		if (value)
			*value = v;
		rt_reap(t);
		return true;
	}
	task_died(cmd, t, consequence);
	rt_reap(t); /* does nothing to a task that has not finished */
	return false;
}

bool task_run(const char *cmd, rt_func fn, uint64_t arg, const char *name, uint64_t *value,
	      const char *consequence)
{
	struct rt_task *t = task_start(cmd, fn, arg, name, consequence);
	if (!t)
		return false;
	run_tasks();
	return task_end(cmd, t, value, consequence);
}

int parse_on_off(const char *cmd, int argc, char **argv)
{
	if (argc == 1)
		return -1;
	if (argc == 2 && strcmp(argv[1], "on") == 0)
		return 1;
	if (argc == 2 && strcmp(argv[1], "off") == 0)
		return 0;
	kprintf("%s: usage: %s [on|off]\n", cmd, cmd);
	return -2;
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (*s < '0' || *s > '9' || v > (~0UL - d) / 10) /* v * 10 + d would wrap */
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static void print_result(struct rt_task *t, struct chain_job *job)
{
	uint64_t v;
	enum rt_exit_kind k = rt_join(t, &v);
	if (k == RT_EXIT_KILLED) {
		kprintf("task %lu was killed (%s); the shell goes on\n", t->id, t->kill_reason);
	} else {
		bool sum_ok = v == chain_expected(job->frames), ok = sum_ok && job->broken == 0;
		kprintf("task %lu: %lu frame%s deep and back: checksum %s, chain checked %lu time%s, %s\n",
			t->id, job->frames, plural(job->frames), sum_ok ? "ok" : "WRONG", job->checks,
			plural(job->checks),
			job->broken ? "BROKEN LINKS FOUND" : "every link intact");
		kprintf("  stack: %lu grows, %lu shrinks, high water %lu KiB, %lu bytes copied, "
			"%lu remapped,\n  %lu pointers adjusted, %lu us moving\n", t->stats.grows,
			t->stats.shrinks, t->stats.high_water >> 10, t->stats.bytes_copied,
			t->stats.bytes_remapped, t->stats.pointers_adjusted, t->stats.move_ns / 1000);
		kprintf("  result: %s\n", ok ? "ok" : "FAILED");
	}
	rt_free(job);
	rt_reap(t);
}

static struct chain_job *new_job(const char *cmd, int argc, char **argv, bool park)
{
	uint64_t depth, frame = 0;
	if (argc < 2 || argc > 3 || parse_u64(argv[1], &depth) != 0 || depth == 0 ||
	    depth > 100000000 || (argc == 3 && (parse_u64(argv[2], &frame) != 0 || frame > (1 << 20)))) {
		kprintf("%s: usage: %s DEPTH [FRAME_BYTES] (1 to 100000000 frames, each up to "
			"1048576 bytes bigger)\n", cmd, cmd);
		return NULL;
	}
	struct chain_job *job = rt_alloc(sizeof *job);
	if (!job) {
		kprintf("%s: out of memory\n", cmd);
		return NULL;
	}
	job->frames = depth;
	job->frame_bytes = frame;
	job->park = park;
	job->check_moves = true;
	return job;
}

/*
 * grow and spawn: starts a task on the recursion and runs tasks until it
 * finishes or parks. Returns the task, or NULL after printing why not.
 */
static struct rt_task *start_recursion(const char *cmd, int argc, char **argv, bool park)
{
	struct chain_job *job = new_job(cmd, argc, argv, park);
	if (!job)
		return NULL;
	struct rt_task *t = rt_spawn(chain_task, (uint64_t)job, park ? "parked" : "grow");
	if (!t) {
		kprintf("%s: cannot create a task: out of memory\n", cmd);
		rt_free(job);
		return NULL;
	}
	run_tasks();
	return t;
}

void cmd_grow(int argc, char **argv)
{
	struct rt_task *t = start_recursion("grow", argc, argv, false);
	if (t)
		print_result(t, (struct chain_job *)t->arg);
}

void cmd_spawn(int argc, char **argv)
{
	struct rt_task *t = start_recursion("spawn", argc, argv, true);
	if (!t)
		return;
	struct chain_job *job = (struct chain_job *)t->arg;
	if (t->state == RT_DONE) {
		print_result(t, job);
		return;
	}
	if (t->image)
		kprintf("task %lu parked %lu frame%s deep and hibernated: %lu bytes in an image, no stack; "
			"'resume %lu' lets it finish\n", t->id, job->frames, plural(job->frames),
			t->image_bytes, t->id);
	else
		kprintf("task %lu parked %lu frame%s deep on a %lu KiB stack; 'resume %lu' lets it "
			"finish\n", t->id, job->frames, plural(job->frames), (t->stack_hi - t->stack_lo) >> 10,
			t->id);
}

static struct rt_task *task_arg(const char *cmd, int argc, char **argv)
{
	uint64_t id;
	if (argc != 2 || parse_u64(argv[1], &id) != 0) {
		kprintf("%s: usage: %s ID (see 'tasks')\n", cmd, cmd);
		return NULL;
	}
	struct rt_task *t = rt_task_by_id(id);
	if (!t)
		kprintf("%s: no task %lu (see 'tasks')\n", cmd, id);
	return t;
}

void cmd_resume(int argc, char **argv)
{
	struct rt_task *t = task_arg("resume", argc, argv);
	if (!t)
		return;
	if (t->state != RT_PARKED || t->fn != chain_task) {
		kprintf("resume: task %lu is not parked by 'spawn'\n", t->id);
		return;
	}
	struct chain_job *job = (struct chain_job *)t->arg;
	rt_ready(t);
	run_tasks();
	print_result(t, job);
}

static const char *state_name(enum rt_task_state s)
{
	return s == RT_RUNNABLE ? "runnable" : s == RT_RUNNING ? "running"
	       : s == RT_PARKED ? "parked" : "done";
}

void cmd_tasks(int argc, char **argv)
{
	(void)argc, (void)argv;
	struct rt_global_stats g;
	struct rt_heap_stats h;
	rt_get_stats(&g);
	rt_heap_get_stats(&h);
	/* MOVED KiB: the bytes its moves carried, copied or remapped. */
	kprintf("  ID NAME     STATE      STACK KiB  USED KiB  HIGH KiB GROWS SHRINKS  MOVED KiB "
		"MOVING us\n");
	for (struct rt_task *t = rt_tasks(); t; t = t->all_next) {
		uint64_t size = t->stack_hi - t->stack_lo;
		uint64_t used = t->state == RT_DONE || !size ? 0 : t->stack_hi - t->ctx.rsp;
		uint64_t high = t->state == RT_RUNNING ? t->stats.high_water : rt_stack_high_water(t);
		kprintf("%4lu %-8s %-9s %10lu %9lu %9lu %5lu %7lu %10lu %9lu\n", t->id, t->name,
			t->image ? "asleep" : state_name(t->state), size >> 10, used >> 10, high >> 10,
			t->stats.grows,
			t->stats.shrinks, (t->stats.bytes_copied + t->stats.bytes_remapped) >> 10,
			t->stats.move_ns / 1000);
	}
	kprintf("tasks: %lu spawned, %lu live; stacks: %lu KiB mapped, %lu KiB cached\n",
		g.tasks_spawned, g.tasks_live, g.stack_bytes_committed >> 10, g.stack_bytes_cached >> 10);
	kprintf("stacks: %lu MiB of address space used (%s), %lu physical pages pooled\n",
		g.stack_va_used >> 20, rt_stack_fault_on_free ? "never reused" : "reused",
		kplat_pool_pages());
	kprintf("hibernation: %s; images of parked tasks: %lu bytes, in %lu KiB of image area\n",
		rt_stack_hibernation ? "on" : "off", g.image_bytes_used, g.image_bytes_mapped >> 10);
	kprintf("heap: %lu objects, %lu bytes live, %lu pages held; of the objects, %lu are defer "
		"records cached for reuse\n", h.objects_live, h.bytes_live, h.pages_held,
		rt_defer_cached());
}

void cmd_stack(int argc, char **argv)
{
	struct rt_task *t = task_arg("stack", argc, argv);
	if (!t)
		return;
	if (t->image) {
		kprintf("task %lu (%s), asleep: no stack; its %lu bytes in use wait in the image "
			"[%#lx, %#lx),\n  and it gets a %lu KiB stack back when it runs\n", t->id, t->name,
			t->image + t->image_bytes - t->ctx.rsp, t->image, t->image + t->image_bytes,
			t->image_stack_size >> 10);
		return;
	}
	if (t->state == RT_DONE || !t->stack_lo) {
		kprintf("stack: task %lu has finished; its stack is gone\n", t->id);
		return;
	}
	uint64_t size = t->stack_hi - t->stack_lo, used = t->stack_hi - t->ctx.rsp;
	kprintf("task %lu (%s), %s: stack [%#lx, %#lx), %lu KiB, %lu bytes used, guard [%#lx, %#lx)\n",
		t->id, t->name, state_name(t->state), t->stack_lo, t->stack_hi, size >> 10, used,
		t->stack_lo - RT_STACK_GUARD, t->stack_lo);
	kprintf("  moves: %lu grows, %lu shrinks, %lu bytes copied, %lu remapped, %lu pointers adjusted, "
		"%lu us moving; high water %lu bytes\n", t->stats.grows, t->stats.shrinks,
		t->stats.bytes_copied, t->stats.bytes_remapped, t->stats.pointers_adjusted,
		t->stats.move_ns / 1000, rt_stack_high_water(t));
	/* The saved context, in the task record (runtime/context.S). */
	uint64_t rip = t->ctx.rip, rbp = t->ctx.rbp;
	kprintf("  frames (innermost first; identical runs folded):\n");
	char name[96], last[96] = "";
	uint64_t repeat = 0, shown = 0;
	for (int n = 0; n < 100000000; n++) {
		symbolize(rip, name, sizeof name);
		if (strcmp(name, last) == 0) {
			repeat++;
		} else {
			if (repeat)
				kprintf("      ... %lu more frames of %s\n", repeat, last);
			repeat = 0;
			if (shown++ < 24)
				kprintf("  %#018lx  %s  (frame at %#lx)\n", rip, name, rbp);
			memcpy(last, name, sizeof last);
		}
		if (rbp < t->stack_lo || rbp + 16 > t->stack_hi || (rbp & 7))
			break;
		uint64_t *f = (uint64_t *)rbp;
		if (f[1] == 0 || f[0] <= rbp)
			break;
		rip = f[1];
		rbp = f[0];
	}
	if (repeat)
		kprintf("      ... %lu more frames of %s\n", repeat, last);
}

void cmd_trace(int argc, char **argv)
{
	int on = parse_on_off("trace", argc, argv);
	if (on == -2)
		return;
	if (on >= 0)
		rt_trace_moves = on;
	kprintf("trace: stack moves are %s\n", rt_trace_moves ? "logged" : "not logged");
}

/* stackreuse [on|off]: the stack cache, or fresh addresses for every stack (Go's stackFaultOnFree). */
void cmd_stackreuse(int argc, char **argv)
{
	int on = parse_on_off("stackreuse", argc, argv);
	if (on == -2)
		return;
	if (on >= 0)
		rt_set_stack_fault_on_free(!on);
	struct rt_global_stats g;
	rt_get_stats(&g);
	if (rt_stack_fault_on_free)
		kprintf("stackreuse: off: every stack gets fresh addresses; a stack left behind is\n"
			"  unmapped, so a stale pointer into it faults\n");
	else
		kprintf("stackreuse: on: stacks up to 32 KiB left behind are cleared and reused\n"
			"  (%lu KiB cached; %lu taken from the cache, %lu mapped fresh)\n",
			g.stack_bytes_cached >> 10, g.stack_cache_hits, g.stack_cache_misses);
}

/*
 * stacklimit [BYTES]: the limit must be one the runtime can honour
 * (rt_set_stack_limit checks [RT_STACK_LIMIT_MIN, RT_STACK_LIMIT_MAX]);
 * anything else is refused with the value and the range, and nothing changes.
 */
void cmd_stacklimit(int argc, char **argv)
{
	uint64_t v;
	if (argc == 2) {
		const char *s = argv[1];
		bool digits = *s != '\0';
		for (const char *p = s; *p; p++)
			digits = digits && *p >= '0' && *p <= '9';
		if (!digits)
			kprintf("stacklimit: '%s' is not a byte count (decimal digits only)\n", s);
		else if (parse_u64(s, &v) != 0)
			kprintf("stacklimit: %s is too large: it does not fit in 64 bits\n", s);
		else if (rt_set_stack_limit(v) != 0)
			kprintf("stacklimit: %lu bytes is outside the allowed range\n", v);
		else {
			kprintf("stacklimit: %lu bytes\n", rt_stack_limit);
			return;
		}
		kprintf("stacklimit: allowed: %lu to %lu bytes (a stack and its guard must fit in one "
			"window of stack addresses); the limit stays %lu bytes\n", RT_STACK_LIMIT_MIN,
			RT_STACK_LIMIT_MAX, rt_stack_limit);
		return;
	}
	if (argc != 1) {
		kprintf("stacklimit: usage: stacklimit [BYTES] (%lu to %lu)\n", RT_STACK_LIMIT_MIN,
			RT_STACK_LIMIT_MAX);
		return;
	}
	kprintf("stacklimit: %lu bytes (allowed: %lu to %lu)\n", rt_stack_limit, RT_STACK_LIMIT_MIN,
		RT_STACK_LIMIT_MAX);
}
