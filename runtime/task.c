/*
 * task.c: tasks and the cooperative scheduler, after Go's runtime/proc.go.
 *
 * One CPU, no preemption: a task runs until it yields, parks (waits on a
 * channel or a join) or exits. Three kinds of stack are in play:
 *
 *     task stacks      grow and shrink by moving (stack*.c); a task's own
 *                      code runs there, and the runtime's thin entry points
 *     the runtime      one per CPU, fixed (Go's g0 stack): the scheduler,
 *     stack            the heap, channels, spawning and killing run here
 *     the host stack   whoever called rt_run or rt_join from outside any
 *                      task (the shell, a test's main); it never moves
 *
 * The invariants every stack move relies on (stackmove.c checks the
 * first two where it can, the fuzzer and the move-stress mode test them):
 *   1. A task's stack moves only while that task's own code runs (a fault
 *      in its guard) or while it is not running and the runtime, on the
 *      runtime stack, shrinks it. Never while code holds an address in
 *      another task's stack or a half-updated runtime structure: all such
 *      code runs on the runtime stack, which never moves, through
 *      rt_systemstack (returns to the task) or rt_mcall (leaves it). The
 *      one runtime code that must run on the task's stack, defer and panic
 *      (the deferred calls run there), first touches RT_HEADROOM below
 *      itself (rt_headroom), so that a growth it needs happens at its
 *      entry, before it holds anything.
 *   2. A switch writes nothing on a task stack: the context is saved in
 *      the task record (context.S), so the only instruction of a switch
 *      that can fault is the `call` into it, before anything has changed.
 *   3. The scheduler's state (queues, states, `current`) changes only on
 *      the runtime stack or in the host context.
 *   4. While a task's code runs, the runtime stack holds nothing: every
 *      rt_mcall abandons it, every rt_systemstack returns from it.
 *
 * Per-CPU state lives in struct rt_cpu (internal.h), one place for SMP to
 * multiply; rt_this_cpu() finds it.
 */
#include "context.h"
#include "defer.h"
#include "heap.h"
#include "internal.h"
#include "panic.h"
#include "platform.h"
#include "rt.h"

#include "format.h"
#include "kstring.h"

struct rt_cpu rt_cpu0;
static struct rt_cpu *this_cpu(void) { return rt_this_cpu(); }

/* What all CPUs share. */
static struct {
	struct rt_task *runq_head, *runq_tail;
	struct rt_task *all;
	uint64_t next_id;
	uint64_t spawned, live;
	bool ready;
} sched;

/* The runtime stack's size: the scheduler, the heap and a fault report's
 * formatting, with room to spare: its deepest chains take a few KiB (gcc
 * -fstack-usage: rt_print alone is 624 bytes). */
#define RUNTIME_STACK (64UL << 10)

/* Prints through the platform's console (a 512-byte frame). */
void rt_print(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	plat_write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}

struct rt_task *rt_current(void) { return this_cpu()->current; }
struct rt_task *rt_tasks(void) { return sched.all; }

bool rt_on_runtime_stack(uintptr_t sp)
{
	struct rt_cpu *c = this_cpu();
	return sp >= c->stack_lo && sp < c->stack_top;
}

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

/* Sets up the runtime stack and the heap. Call once before anything else. */
void rt_init(void)
{
	if (sched.ready)
		return;
	struct rt_cpu *c = this_cpu();
	size_t bytes = RUNTIME_STACK;
	c->stack_top = plat_runtime_stack(bytes);
	if (!c->stack_top)
		rt_fatal("rt_init: no memory for the runtime stack");
	c->stack_lo = c->stack_top - bytes;
	rt_heap_init();
	sched.next_id = 1;
	sched.ready = true;
}

/*
 * Runs fn(arg) on the runtime stack and returns its value: from a task,
 * on the runtime stack; from the host context or the runtime stack itself,
 * right here (neither moves). Every runtime entry point that changes
 * runtime state goes through here (invariant 1).
 */
uint64_t rt_systemstack(uint64_t (*fn)(void *), void *arg)
{
	struct rt_cpu *c = this_cpu();
	if (!c->current || rt_on_runtime_stack((uintptr_t)__builtin_frame_address(0)))
		return fn(arg);
	return rt_systemstack_call(fn, arg, c->stack_top);
}

/* ---- switching: everything below `mcall` runs on the runtime stack ---- */

/* Makes next the running task (its context is loaded next). */
static void enter(struct rt_task *next)
{
	this_cpu()->current = next;
	next->state = RT_RUNNING;
	rt_defer_frames = next->defer_frames;
}

static void finish_task(struct rt_task *t, enum rt_exit_kind kind, uint64_t value);

/* The next runnable task, with a stack: a hibernated one wakes first
 * (rt_stack_wake); one that cannot, out of memory, dies, as a task that
 * cannot grow does. While a stop stands (preempt.c), every runnable task
 * dies here instead of running: it left off at a safe point (a yield, a
 * park, or before its first instruction), and a runnable task is in no
 * queue but this one. On the runtime stack or in the host context. */
static struct rt_task *runq_next(void)
{
	struct rt_task *t;
	while ((t = runq_pop())) {
		const char *why = rt_stop_why;
		if (__builtin_expect(why != NULL, 0))
			rt_stop_unrun(t);
		else if (t->image && !rt_stack_wake(t))
			why = "out of memory for its stack as it woke";
		else
			return t;
		ksnprintf(t->kill_reason, sizeof t->kill_reason, "%s", why);
		finish_task(t, RT_EXIT_KILLED, 0);
	}
	return NULL;
}

/* Continues the next runnable task, or the host context if none is (or
 * the task the host joins is done). On the runtime stack. */
static _Noreturn void schedule(void)
{
	struct rt_cpu *c = this_cpu();
	struct rt_task *next = NULL;
	if (!c->host_waits_for || c->host_waits_for->state != RT_DONE)
		next = runq_next();
	if (!next) {
		c->current = NULL;
		rt_defer_frames = c->host_defers;
		rt_context_load(&c->host);
	}
	enter(next);
	rt_context_load(&next->ctx);
}

/* Leaves the running task t (on the runtime stack now): keeps its records. */
static void leave(struct rt_task *t)
{
	t->defer_frames = rt_defer_frames;
}

/* Leaves the running task for fn(arg) on the runtime stack (invariant 2).
 * From task code only: the runtime stack must be empty (invariant 4). */
static void mcall(void (*fn)(void *), void *arg)
{
	struct rt_cpu *c = this_cpu();
	if (rt_on_runtime_stack((uintptr_t)__builtin_frame_address(0)))
		rt_fatal("a task switch was asked for on the runtime stack");
	rt_mcall(&c->current->ctx, fn, arg, c->stack_top);
}

/* Marks t finished and wakes every task joining it. On the runtime stack. */
static void finish_task(struct rt_task *t, enum rt_exit_kind kind, uint64_t value)
{
	rt_defers_drop(&t->defer_frames); /* killed with deferred calls pending: they never run */
	t->panic = NULL;                  /* a chain in the stack that is about to go */
	t->state = RT_DONE;
	t->exit_kind = kind;
	t->exit_value = value;
	sched.live--;
	struct rt_task *j = t->joiners, *jn;
	t->joiners = NULL;
	for (; j; j = jn) {
		jn = j->next;
		rt_ready(j);
	}
	rt_stack_free(t);                 /* measures its high water first */
	rt_stack_learn(t->fn, t->stats.high_water);
}

static void yield_m(void *arg)
{
	struct rt_task *t = rt_current();
	(void)arg;
	leave(t);
	t->state = RT_RUNNABLE;
	rt_stack_maybe_shrink(t);
	runq_push(t);
	schedule();
}

struct park_req {
	bool (*commit)(struct rt_task *self, void *arg);
	void *arg;
};

static void park_m(void *arg)
{
	struct park_req *req = arg; /* in the parking task's stack: it does not move before commit */
	struct rt_task *t = rt_current();
	leave(t);
	t->state = RT_PARKED;
	if (req->commit && !req->commit(t, req->arg)) {
		t->state = RT_RUNNING; /* no need to wait after all */
		rt_context_load(&t->ctx);
	}
	rt_stack_maybe_shrink(t);
	schedule();
}

static void exit_m(void *arg)
{
	struct rt_task *t = rt_current();
	leave(t);
	finish_task(t, RT_EXIT_RETURNED, *(uint64_t *)arg);
	schedule();
}

static void kill_self_m(void *arg)
{
	struct rt_task *t = rt_current();
	leave(t);
	ksnprintf(t->kill_reason, sizeof t->kill_reason, "%s", (const char *)arg);
	finish_task(t, RT_EXIT_KILLED, 0);
	schedule();
}

/*
 * Where the fault path sends a task it killed (context.S's
 * rt_kill_trampoline, on the runtime stack): settles it and runs the next.
 */
_Noreturn void rt_task_killed(struct rt_task *t)
{
	leave(t);
	finish_task(t, RT_EXIT_KILLED, 0);
	schedule();
}

/* First code a new task runs, on its own stack (from rt_task_trampoline). */
_Noreturn void rt_task_main(void)
{
	struct rt_task *t = rt_current();
	rt_exit(t->fn(t->arg));
}

/* ---- the API ---- */

struct spawn_req {
	rt_func fn;
	uint64_t arg;
	const char *name;
};

static uint64_t spawn_sys(void *arg)
{
	struct spawn_req *req = arg;
	struct rt_task *t = rt_alloc(sizeof *t);
	if (!t)
		return 0;
	t->fn = req->fn;
	t->arg = req->arg;
	t->name = req->name ? req->name : "task";
	if (!rt_stack_alloc(t, rt_stack_start_size(t->fn))) {
		rt_free(t);
		return 0;
	}
	t->id = sched.next_id++;
	/* The first context: rt_task_trampoline with %rsp as at a function
	 * entry. Nothing is written on the stack (invariant 2). */
	t->ctx.rsp = t->stack_hi - 8;
	t->ctx.rip = (uint64_t)rt_task_trampoline;
	t->all_next = sched.all;
	if (sched.all)
		sched.all->all_prev = t;
	sched.all = t;
	sched.spawned++;
	sched.live++;
	t->state = RT_RUNNABLE;
	runq_push(t);
	return (uint64_t)t;
}

/*
 * Creates a task that will run fn(arg) on a stack of its own (one page,
 * or what rt_stack_adaptive learned); it runs when the scheduler gets to
 * it. Returns NULL if memory ran out.
 */
struct rt_task *rt_spawn(rt_func fn, uint64_t arg, const char *name)
{
	rt_init();
	rt_stop_check();
	struct spawn_req req = { fn, arg, name };
	return (struct rt_task *)rt_systemstack(spawn_sys, &req);
}

/* Lets every other runnable task run once; returns at once if there is none. */
void rt_yield(void)
{
	rt_stop_check();
	struct rt_task *cur = rt_current();
	if (!cur || !sched.runq_head)
		return;
	mcall(yield_m, NULL);
}

/*
 * The current task waits until someone calls rt_ready on it. commit, if
 * not NULL, runs on the runtime stack once the task has left: it puts the
 * task where its waker will find it, or returns false if there is no need
 * to wait after all (Go's gopark with its unlockf).
 */
void rt_park_on(bool (*commit)(struct rt_task *self, void *arg), void *arg, const char *reason)
{
	struct park_req req = { commit, arg };
	struct rt_task *t = rt_current();
	if (!t)
		return;
	rt_stop_check();
	t->wait_reason = reason;
	mcall(park_m, &req);
}

void rt_park(void) { rt_park_on(NULL, NULL, "parked"); }

/* Makes a parked task runnable again. */
void rt_ready(struct rt_task *t)
{
	if (t->state != RT_PARKED)
		return;
	t->wait_cancel = NULL;
	t->state = RT_RUNNABLE;
	runq_push(t);
}

/* Ends the current task with a value for its joiners, after running its
 * pending deferred calls, as Go's Goexit does. */
_Noreturn void rt_exit(uint64_t value)
{
	rt_defer_run_all();
	mcall(exit_m, &value);
	__builtin_unreachable(); /* nothing ever continues a finished task */
}

/* Ends the current task as killed (an unrecovered panic); the others go on. */
_Noreturn void rt_kill_self(const char *reason)
{
	struct rt_task *t = rt_current();
	rt_print("runtime: task %lu (%s) killed: %s; the other tasks go on\n", t->id, t->name, reason);
	char why[sizeof t->kill_reason];
	ksnprintf(why, sizeof why, "panic: %s", reason);
	mcall(kill_self_m, why);
	__builtin_unreachable();
}

/* Ends the current task as killed by a stop request (preempt.c), at a safe point. */
_Noreturn void rt_kill_self_because(const char *why)
{
	struct rt_task *t = rt_current();
	rt_print("runtime: task %lu (%s) stopped in the runtime: %s\n", t->id, t->name, why);
	mcall(kill_self_m, (void *)why);
	__builtin_unreachable();
}

/* A runtime error found by the runtime itself (a send on a closed channel): Go panics. */
_Noreturn void rt_die(const char *panic_msg)
{
	rt_panic(panic_msg);
}

/*
 * From the fault path: makes *regs continue at rt_kill_trampoline on the
 * runtime stack, which settles t there. Touches nothing on t's stack and
 * changes no runtime state itself.
 */
void rt_kill_from_fault(struct rt_task *t, struct rt_regs *regs)
{
	regs->rsp = this_cpu()->stack_top;
	regs->rip = (uint64_t)rt_kill_trampoline;
	regs->rdi = (uint64_t)t;
	regs->rbp = 0;
}

/* Takes self out of the joiners of t (a stop ends self). */
static void join_cancel(struct rt_task *self, void *owner)
{
	struct rt_task **p = &((struct rt_task *)owner)->joiners;
	while (*p && *p != self)
		p = &(*p)->next;
	if (*p)
		*p = self->next;
	self->next = NULL;
}

static bool join_commit(struct rt_task *self, void *arg)
{
	struct rt_task *t = arg;
	if (t->state == RT_DONE)
		return false;
	self->next = t->joiners;
	t->joiners = self;
	self->wait_cancel = join_cancel;
	self->wait_owner = t;
	return true;
}

/* Hibernates every parked task that has a stack and uses little of it. */
static uint64_t hibernate_parked(void *unused)
{
	(void)unused;
	uint64_t n = 0;
	for (struct rt_task *t = sched.all; t; t = t->all_next)
		if (t->state == RT_PARKED && t->stack_lo && t->stack_hi - t->ctx.rsp <= RT_IMAGE_MAX)
			n += rt_stack_hibernate(t);
	return n;
}

bool rt_stack_hibernation;

uint64_t rt_hibernate_parked(void)
{
	return rt_systemstack(hibernate_parked, NULL);
}

/* The host context runs tasks until t is done or nothing can run. */
/*
 * Under a stop (preempt.c), with nothing runnable: ends every parked task
 * the stop covers, taken out of the queue it waits in first. A task parked
 * with no queue (rt_park, a nil channel) has none to leave. Returns true if
 * any died. In the host context.
 */
static bool stop_parked(void)
{
	const char *why = rt_stop_reason();
	bool any = false;
	if (!why)
		return false;
	for (struct rt_task *t = sched.all; t; t = t->all_next) {
		if (t->state != RT_PARKED || !rt_stop_covers_parked(t))
			continue;
		if (t->wait_cancel)
			t->wait_cancel(t, t->wait_owner);
		t->wait_cancel = NULL;
		ksnprintf(t->kill_reason, sizeof t->kill_reason, "%s (in %s)", why,
			  t->wait_reason ? t->wait_reason : "park");
		finish_task(t, RT_EXIT_KILLED, 0);
		any = true;
	}
	return any;
}

static void host_run(struct rt_task *t)
{
	struct rt_cpu *c = this_cpu();
	c->host_waits_for = t;
	bool ran = false;
	do {
		while (!(t && t->state == RT_DONE) && sched.runq_head) {
			struct rt_task *next = runq_next();
			if (!next)
				break;
			c->host_defers = rt_defer_frames;
			enter(next);
			rt_context_switch(&c->host, &next->ctx);
			ran = true;
		}
		/* Nothing can run: under a stop, the parked tasks it covers die
		 * too, which readies their joiners (who then die unrun). */
	} while (!(t && t->state == RT_DONE) && stop_parked());
	c->host_waits_for = NULL;
	/* Tasks ran and now none can: those left parked may sleep long. */
	if (ran && !sched.runq_head && rt_stack_hibernation)
		hibernate_parked(NULL);
}

/*
 * The host waits for t, and no task can run: every task is asleep, as Go
 * says ("all goroutines are asleep - deadlock!"). Go ends the program; the
 * host here only learns that t will not finish, and the blocked tasks are
 * listed with what they wait for.
 */
static void report_deadlock(struct rt_task *t)
{
	rt_print("runtime: all tasks are asleep: task %lu (%s) cannot finish - deadlock!\n", t->id, t->name);
	int shown = 0;
	for (struct rt_task *b = sched.all; b; b = b->all_next) {
		if (b->state != RT_PARKED)
			continue;
		if (shown++ == 8) {
			rt_print("runtime:   ...\n");
			break;
		}
		rt_print("runtime:   task %lu (%s) [%s]\n", b->id, b->name, b->wait_reason ? b->wait_reason : "parked");
	}
}

/*
 * Waits for t to finish; stores its value. Returns how it ended
 * (RT_EXIT_KILLED if it died of a fault). From outside any task, runs the
 * scheduler until t is done. Any number of tasks may join one task. Does
 * not reap t.
 */
enum rt_exit_kind rt_join(struct rt_task *t, uint64_t *value)
{
	struct rt_task *cur = rt_current();
	if (cur && cur != t) {
		while (t->state != RT_DONE)
			rt_park_on(join_commit, t, "join");
	} else if (!cur) {
		host_run(t);
		if (t->state != RT_DONE)
			report_deadlock(t);
	}
	if (value)
		*value = t->exit_value;
	return t->state == RT_DONE ? t->exit_kind : RT_EXIT_NONE;
}

/* From outside tasks: runs tasks until none is runnable. */
void rt_run(void)
{
	if (!rt_current())
		host_run(NULL);
}

static uint64_t reap_sys(void *arg)
{
	struct rt_task *t = arg;
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		sched.all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	rt_free(t);
	return 0;
}

/* Forgets a finished task: unlinks and frees its record. O(1). */
void rt_reap(struct rt_task *t)
{
	if (t->state == RT_DONE)
		rt_systemstack(reap_sys, t);
}

struct rt_task *rt_task_by_id(uint64_t id)
{
	for (struct rt_task *t = sched.all; t; t = t->all_next)
		if (t->id == id)
			return t;
	return NULL;
}

uint64_t rt_tasks_spawned(void) { return sched.spawned; }
uint64_t rt_next_task_id(void) { return sched.next_id; }
uint64_t rt_tasks_live(void) { return sched.live; }
