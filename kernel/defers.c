/*
 * defers.c: the `defer` command: Go's defer programs (GO_SEMANTICS.md
 * section 2, their C twins in twins/defer.c) run in a task, each printed
 * beside what Go 1.19 prints for it; and the `panic` command: panic and
 * recover through 100 frames, a recovered nil dereference, and a chained
 * panic that kills only its task.
 */
/* level() ends only by panicking, which GCC reports as infinite recursion. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"
#include "kernel.h"
#include "tasks.h"

#include "../runtime/defer.h"
#include "../runtime/panic.h"
#include "../runtime/rt.h"
#include "../twins/twins.h"

static int matched, total;

static void show(const char *program, const char *go, const char *ours)
{
	bool same = strcmp(go, ours) == 0;
	matched += same;
	total++;
	kprintf("  %-13s Go prints %-6s here: %-6s %s\n", program, go, ours,
		same ? "matches Go" : "DIFFERS FROM GO");
}

static uint64_t defer_programs(uint64_t unused)
{
	(void)unused;
	char buf[16];
	uint64_t a = 0, b;
	b = twin_incr(a);
	ksnprintf(buf, sizeof buf, "%lu %lu", a, b);
	show("incr", "0 1", buf);
	b = twin_incrn(a);
	ksnprintf(buf, sizeof buf, "%lu %lu", a, b);
	show("incrn", "0 2", buf);
	ksnprintf(buf, sizeof buf, "%lu", twin_defer_arg());
	show("deferArg", "1", buf);
	ksnprintf(buf, sizeof buf, "%lu", twin_defer_closure());
	show("deferClosure", "5", buf);
	twin_lifo(buf, sizeof buf);
	show("LIFO", "2 1 0", buf);
	return rt_defer_pending();
}

void cmd_defer(int argc, char **argv)
{
	(void)argc, (void)argv;
	matched = total = 0;
	struct rt_task *t = rt_spawn(defer_programs, 0, "defer");
	if (!t) {
		kprintf("defer: out of memory\n");
		return;
	}
	run_tasks();
	uint64_t pending = 0;
	enum rt_exit_kind k = rt_join(t, &pending);
	rt_reap(t);
	kprintf("defer: %d of %d match Go; %lu deferred calls left pending; %s\n", matched, total,
		pending, k == RT_EXIT_RETURNED && matched == total && pending == 0 ? "ok" : "FAILED");
}

/* ---- panic: Go's panic and recover on bare metal ---- */

static const char *recovered;
static int frames_unwound;

__attribute__((noinline)) static void recoverer(void)
{
	recovered = rt_recover();
}

static void count_frame(void)
{
	frames_unwound++;
}

RT_DEFERS static uint64_t level(uint64_t n)
{
	rt_defer((void *)count_frame, 0);
	if (n == 0)
		rt_panic("deep trouble");
	level(n - 1);
	RT_RETURN(0);
}

/* func top() (r int) { r = 7; defer func() { recovered = recover() }(); level(99); return 1 } */
RT_DEFERS static uint64_t top(void)
{
	uint64_t r = 7;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r);
	rt_defer((void *)recoverer, 0);
	level(99);
	r = 1;
	RT_RETURN(r);
}

RT_DEFERS static uint64_t nil_field(uint64_t p)
{
	uint64_t r = 5;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r);
	rt_defer((void *)recoverer, 0);
	r = *(volatile uint64_t *)(p + 8);
	RT_RETURN(r);
}

static void panic_second(void)
{
	rt_panic("second");
}

/* recover, then panic again: the frame above recovers the second panic */
__attribute__((noinline)) static void recover_and_repanic(void)
{
	if (rt_recover())
		rt_panic("second");
}

RT_DEFERS static uint64_t inner(void)
{
	RT_RECOVER_RETURNS(0);
	rt_defer((void *)recover_and_repanic, 0);
	rt_panic("first");
}

RT_DEFERS static uint64_t outer(void)
{
	uint64_t r = 11;
	rt_defer_result(&r);
	RT_RECOVER_RETURNS(r);
	rt_defer((void *)recoverer, 0);
	inner();
	r = 0;
	RT_RETURN(r);
}

RT_DEFERS static uint64_t chained(uint64_t unused)
{
	(void)unused;
	rt_defer((void *)panic_second, 0);
	rt_panic("first");
}

static uint64_t panic_programs(uint64_t unused)
{
	(void)unused;
	frames_unwound = 0;
	recovered = NULL;
	uint64_t v = top();
	kprintf("panic: through 100 frames: %d deferred calls ran, recovered \"%s\", top returned %lu\n",
		frames_unwound, recovered ? recovered : "(nothing)", v);
	bool ok = frames_unwound == 100 && recovered && strcmp(recovered, "deep trouble") == 0 && v == 7;
	recovered = NULL;
	v = nil_field(0);
	kprintf("panic: nil dereference recovered: \"%s\", returned %lu\n",
		recovered ? recovered : "(nothing)", v);
	ok = ok && recovered && v == 5;
	recovered = NULL;
	v = outer();
	kprintf("panic: recovered \"first\", panicked again: the caller recovered \"%s\", returned %lu\n",
		recovered ? recovered : "(nothing)", v);
	ok = ok && recovered && strcmp(recovered, "second") == 0 && v == 11;
	return ok;
}

void cmd_panic(int argc, char **argv)
{
	(void)argc, (void)argv;
	struct rt_task *t = rt_spawn(panic_programs, 0, "panic");
	struct rt_task *c = rt_spawn(chained, 0, "chained");
	if (!t || !c) {
		kprintf("panic: out of memory\n");
		return;
	}
	run_tasks();
	uint64_t ok = 0;
	bool t_ok = rt_join(t, &ok) == RT_EXIT_RETURNED && ok;
	bool c_killed = rt_join(c, NULL) == RT_EXIT_KILLED;
	kprintf("panic: the chained panic killed only its task: %s\n", c_killed ? "yes" : "NO");
	rt_reap(t);
	rt_reap(c);
	kprintf("panic: %s\n", t_ok && c_killed ? "ok" : "FAILED");
}
