/*
 * defers.c: the `defer` command: Go's defer programs (GO_SEMANTICS.md
 * section 2, their C twins in twins/defer.c) run in a task, each printed
 * beside what Go 1.19 prints for it.
 */
#include "kernel.h"
#include "tasks.h"

#include "../runtime/defer.h"
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
