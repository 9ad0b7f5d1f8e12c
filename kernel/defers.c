/*
 * defers.c: the `defer` command: Go's defer programs (GO_SEMANTICS.md
 * section 2, their C twins in twins/defer.c) run in a task, each printed
 * beside what Go 1.19 prints for it; and the `panic` command: panic and
 * recover through 100 frames, a recovered nil dereference, and a chained
 * panic that kills only its task.
 */
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

/* ---- panic: Go's panic and recover on bare metal (twins/panic.c) ---- */

static uint64_t panic_programs(uint64_t unused)
{
	(void)unused;
	struct twin_panic p;
	uint64_t v = twin_panic_deep(&p);
	kprintf("panic: through 100 frames: %d deferred calls ran%s, recovered \"%s\", top returned "
		"%lu\n", p.deferred_ran, p.in_order ? "" : " OUT OF ORDER",
		p.recovered ? p.recovered : "(nothing)", v);
	bool ok = p.deferred_ran == 100 && p.in_order && p.recovered &&
		  strcmp(p.recovered, "deep trouble") == 0 && v == 7;
	v = twin_panic_nil(&p, 0);
	kprintf("panic: nil dereference recovered: \"%s\", returned %lu\n",
		p.recovered ? p.recovered : "(nothing)", v);
	ok = ok && p.recovered && v == 5;
	v = twin_panic_repanic(&p);
	kprintf("panic: recovered \"first\", panicked again: the caller recovered \"%s\", returned %lu\n",
		p.recovered ? p.recovered : "(nothing)", v);
	ok = ok && p.recovered && strcmp(p.recovered, "second") == 0 && v == 11;
	return ok;
}

void cmd_panic(int argc, char **argv)
{
	(void)argc, (void)argv;
	struct rt_task *t = rt_spawn(panic_programs, 0, "panic");
	struct rt_task *c = rt_spawn(twin_panic_chained, 0, "chained");
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
