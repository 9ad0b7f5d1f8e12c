/*
 * task.c: tasks and the cooperative scheduler.
 *
 * One CPU, no preemption: a task runs until it yields, parks (waits on a
 * channel or a join) or exits. Switches go straight from task to task; the
 * scheduler context ("g0", the caller of rt_run: the shell, or a test's
 * main) runs only when no task is runnable. Whoever resumes after a switch
 * finishes the previous task's business (finish_switch): frees the stack
 * of a task that exited, or shrinks the stack of one that stopped using
 * less than a quarter of it. A stack can only be freed or moved while
 * nothing runs on it, which is exactly then.
 */
#include "defer.h"
#include "heap.h"
#include "panic.h"
#include "rt.h"
#include "platform.h"

#include "format.h"
#include "kstring.h"

void rt_switch(uintptr_t *save_rsp, uintptr_t load_rsp);
void rt_task_trampoline(void);
void rt_task_main(void);

static struct {
	struct rt_task *current;          /* NULL: the scheduler context runs */
	struct rt_task *runq_head, *runq_tail;
	struct rt_task *prev;             /* who switched to us: see finish_switch */
	struct rt_task *all;
	uintptr_t g0_rsp;
	struct rt_defer_frame *g0_defers;   /* deferring frames of the scheduler context */
	uint64_t next_id;
	uint64_t spawned, live;
	bool ready;
} sched;

/* Prints through the platform's console; safe on the fault path (a 512-byte frame). */
void rt_print(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	plat_write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

struct rt_task *rt_current(void) { return sched.current; }
struct rt_task *rt_tasks(void) { return sched.all; }

static void runq_push(struct rt_task *t)
{
	t->next = NULL;
	if (sched.runq_tail)
		sched.runq_tail->next = t;
	else
		sched.runq_head = t;
	sched.runq_tail = t;
}

static struct rt_task *runq_pop(void)
{
	struct rt_task *t = sched.runq_head;
	if (t) {
		sched.runq_head = t->next;
		if (!sched.runq_head)
			sched.runq_tail = NULL;
		t->next = NULL;
	}
	return t;
}

/* Sets up the stack system and the heap. Call once before anything else. */
void rt_init(void)
{
	if (sched.ready)
		return;
	heap_init();
	sched.next_id = 1;
	sched.ready = true;
}

/* Runs on the new side of every switch: settles the task we left. */
static void finish_switch(void)
{
	struct rt_task *p = sched.prev;
	sched.prev = NULL;
	if (!p)
		return;
	if (p->state == RT_DONE)
		rt_stack_free(p);
	else
		rt_stack_maybe_shrink(p);
}

/* Switches from the current context to next (NULL: the scheduler context). */
static void switch_to(struct rt_task *next)
{
	struct rt_task *prev = sched.current;
	uintptr_t *save = prev ? &prev->saved_rsp : &sched.g0_rsp;
	uintptr_t load = next ? next->saved_rsp : sched.g0_rsp;
	if (next == prev)
		return;
	sched.prev = prev;
	sched.current = next;
	if (next)
		next->state = RT_RUNNING;
	/* Each context has its own chain of deferring frames. */
	*(prev ? &prev->defer_frames : &sched.g0_defers) = rt_defer_frames;
	rt_defer_frames = next ? next->defer_frames : sched.g0_defers;
	rt_switch(save, load);
	finish_switch();
}

/* First code a new task runs, on its own stack (from rt_task_trampoline). */
void rt_task_main(void)
{
	finish_switch();
	struct rt_task *t = sched.current;
	rt_exit(t->fn(t->arg));
}

/*
 * A new task's stack holds a context for rt_switch to pop: six zero
 * registers and rt_task_trampoline as the return address, with a zero
 * word above it to end backtraces.
 */
static void task_init_stack(struct rt_task *t)
{
	uint64_t *sp = (uint64_t *)t->stack_hi;
	*--sp = 0;
	*--sp = (uint64_t)rt_task_trampoline;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->saved_rsp = (uintptr_t)sp;
}

/*
 * Creates a task that will run fn(arg) on a fresh one-page stack; it runs
 * when the scheduler gets to it. Returns NULL if memory ran out.
 */
struct rt_task *rt_spawn(rt_func fn, uint64_t arg, const char *name)
{
	rt_init();
	struct rt_task *t = rt_alloc(sizeof *t);
	if (!t)
		return NULL;
	t->id = sched.next_id++;
	t->fn = fn;
	t->arg = arg;
	t->name = name ? name : "task";
	if (!rt_stack_alloc(t, RT_STACK_MIN)) {
		rt_free(t);
		return NULL;
	}
	task_init_stack(t);
	t->all_next = sched.all;
	if (sched.all)
		sched.all->all_prev = t;
	sched.all = t;
	sched.spawned++;
	sched.live++;
	t->state = RT_RUNNABLE;
	runq_push(t);
	return t;
}

/* Lets every other runnable task run once; returns at once if there is none. */
void rt_yield(void)
{
	struct rt_task *cur = sched.current;
	if (!cur || !sched.runq_head)
		return;
	cur->state = RT_RUNNABLE;
	runq_push(cur);
	switch_to(runq_pop());
}

/* The current task waits until someone calls rt_ready on it. */
void rt_park(void)
{
	struct rt_task *cur = sched.current;
	if (!cur)
		return;
	cur->state = RT_PARKED;
	switch_to(runq_pop());
}

/* Makes a parked task runnable again. */
void rt_ready(struct rt_task *t)
{
	if (t->state != RT_PARKED)
		return;
	t->state = RT_RUNNABLE;
	runq_push(t);
}

/* Marks t finished and wakes its joiner; its stack is freed after the switch. */
static void finish_task(struct rt_task *t, enum rt_exit_kind kind, uint64_t value)
{
	if (t == sched.current) /* killed with deferred calls pending: they never run */
		rt_defers_drop(&rt_defer_frames);
	t->state = RT_DONE;
	t->exit_kind = kind;
	t->exit_value = value;
	sched.live--;
	if (t->joiner)
		rt_ready(t->joiner);
}

/* Ends the current task with a value for its joiner. */
_Noreturn void rt_exit(uint64_t value)
{
	finish_task(sched.current, RT_EXIT_RETURNED, value);
	switch_to(runq_pop());
	for (;;) /* nothing ever switches back to a finished task */
		;
}

/* Ends the current task as killed (an unrecovered panic); the others go on. */
_Noreturn void rt_kill_self(const char *reason)
{
	struct rt_task *t = sched.current;
	rt_print("runtime: task %lu (%s) killed: %s; the other tasks go on\n", t->id, t->name, reason);
	ksnprintf(t->kill_reason, sizeof t->kill_reason, "panic: %s", reason);
	finish_task(t, RT_EXIT_KILLED, 0);
	switch_to(runq_pop());
	for (;;)
		;
}

/* A runtime error found by the runtime itself (a send on a closed channel): Go panics. */
_Noreturn void rt_die(const char *panic_msg)
{
	rt_panic(panic_msg);
}

/*
 * Kills the current task from the fault path: *regs becomes the context of
 * the task (or scheduler) that runs next, resumed at rt_switch_restore.
 * Touches nothing on the dying task's stack.
 */
void rt_kill_current(struct rt_regs *regs)
{
	extern char rt_switch_restore[];
	struct rt_task *t = sched.current, *next = runq_pop();
	finish_task(t, RT_EXIT_KILLED, 0);
	sched.prev = t;
	sched.current = next;
	if (next)
		next->state = RT_RUNNING;
	rt_defer_frames = next ? next->defer_frames : sched.g0_defers;
	regs->rsp = next ? next->saved_rsp : sched.g0_rsp;
	regs->rip = (uint64_t)rt_switch_restore;
}

/*
 * Waits for t to finish; stores its value. Returns how it ended
 * (RT_EXIT_KILLED if it died of a fault). From outside any task, runs the
 * scheduler until t is done. Does not reap t.
 */
enum rt_exit_kind rt_join(struct rt_task *t, uint64_t *value)
{
	struct rt_task *cur = sched.current;
	if (cur && cur != t) {
		while (t->state != RT_DONE) {
			t->joiner = cur;
			rt_park();
		}
		t->joiner = NULL;
	} else if (!cur) {
		while (t->state != RT_DONE) {
			struct rt_task *next = runq_pop();
			if (!next)
				break; /* deadlock: t waits for something nobody will do */
			switch_to(next);
		}
	}
	if (value)
		*value = t->exit_value;
	return t->state == RT_DONE ? t->exit_kind : RT_EXIT_NONE;
}

/* From outside tasks: runs tasks until none is runnable. */
void rt_run(void)
{
	struct rt_task *next;
	while (!sched.current && (next = runq_pop()))
		switch_to(next);
}

/* Forgets a finished task: unlinks and frees its record. O(1). */
void rt_reap(struct rt_task *t)
{
	if (t->state != RT_DONE)
		return;
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		sched.all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	rt_free(t);
}

struct rt_task *rt_task_by_id(uint64_t id)
{
	for (struct rt_task *t = sched.all; t; t = t->all_next)
		if (t->id == id)
			return t;
	return NULL;
}

uint64_t rt_tasks_spawned(void) { return sched.spawned; }
uint64_t rt_tasks_live(void) { return sched.live; }
