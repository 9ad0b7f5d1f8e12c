/*
 * preempt.c: stopping the tasks that run (the shell's Ctrl-C), the way Go
 * 1.14 preempts a goroutine that never calls a function: at an interrupt,
 * but only where the runtime is in a safe state.
 *
 *   rt_stop_request(reason)          (the platform: a key, a signal)
 *        │
 *        ├─ asynchronously: the platform's next interrupt or timer tick
 *        │  hands the interrupted context to rt_preempt(regs). If the
 *        │  current task's own code was running there, the task dies at
 *        │  that instruction (its context is sent to rt_kill_trampoline,
 *        │  as a fault kills a task). If not, nothing happens and the
 *        │  platform tries again at its next tick.
 *        │
 *        ├─ synchronously: a task that enters the runtime to yield, park,
 *        │  spawn or use a channel (rt_stop_point) dies there;
 *        ├─ unrun: the scheduler kills every runnable task it would run
 *        │  next (runq_next), so ten thousand queued tasks end at once;
 *        └─ parked: once nothing can run, the parked tasks it covers die
 *           (task.c, stop_parked), which readies their joiners.
 *   until rt_stop_clear().
 *
 * Invariants:
 *   - An async stop happens only where a stress move may happen
 *     (rt_async_safe, stackfault.c): the current task's %rsp is inside its
 *     stack, its %rip is in the program's own code and not the runtime's.
 *     The runtime's structures are therefore never half-changed when a
 *     task dies. The platform adds its own holds (its frame allocator,
 *     page tables and console) before it calls rt_preempt.
 *   - Killing touches nothing on the task's stack and allocates nothing:
 *     rt_preempt runs in an interrupt handler or a signal handler.
 *   - Parked tasks die only when nothing can run any more (host_run),
 *     and only those the request covers (spawned since first_parked_id:
 *     the shell's command's own, not a task an earlier command parked for
 *     `resume`). Each is taken out of the queue it waits in first (its
 *     wait_cancel: a channel's queue, a task's joiners), so no channel
 *     ever hands a value to a dead task's stack.
 *   - Deferred calls do not run, as in a Go program ended by SIGINT.
 */
#include "internal.h"
#include "platform.h"
#include "rt.h"

#include "format.h"

const char *volatile rt_stop_why; /* the standing stop's reason, or NULL */
static uint64_t stop_first_parked;
static uint64_t stops_async, stops_sync, stops_unrun;

bool rt_stop_covers_parked(struct rt_task *t)
{
	if (t->id < stop_first_parked)
		return false;
	stops_unrun++;
	return true;
}

const char *rt_stop_reason(void)
{
	return rt_stop_why;
}

void rt_stop_unrun(struct rt_task *t)
{
	(void)t;
	stops_unrun++;
}

void rt_stop_request(const char *reason, uint64_t first_parked_id)
{
	stop_first_parked = first_parked_id;
	rt_stop_why = reason ? reason : "stopped";
}

void rt_stop_clear(void)
{
	rt_stop_why = NULL;
}

bool rt_stop_requested(void)
{
	return rt_stop_why != NULL;
}

/* From an interrupt or signal handler. See the drawing at the top. [fault-safe] */
bool rt_preempt(struct rt_regs *regs)
{
	const char *why = rt_stop_why;
	struct rt_task *t = rt_current();
	if (!why || !t || !rt_async_safe(t, regs))
		return false;
	char sym[96];
	if (!plat_symbolize(regs->rip, sym, sizeof sym))
		ksnprintf(sym, sizeof sym, "?");
	ksnprintf(t->kill_reason, sizeof t->kill_reason, "%s", why);
	rt_print("runtime: task %lu (%s) stopped at pc %#lx <%s>, its stack %lu KiB: %s\n", t->id,
		 t->name, regs->rip, sym, (unsigned long)((t->stack_hi - t->stack_lo) >> 10), why);
	rt_kill_from_fault(t, regs);
	stops_async++;
	return true;
}

/* From the runtime's entry points, in the task: dies here if a stop stands. */
void rt_stop_point(void)
{
	const char *why = rt_stop_why;
	if (!why || !rt_current())
		return;
	stops_sync++;
	rt_kill_self_because(why);
}

void rt_stop_counts(uint64_t counts[3])
{
	counts[0] = stops_async;
	counts[1] = stops_sync;
	counts[2] = stops_unrun;
}
