/*
 * defers.c: the `defer` command: Go's defer programs (docs/go-semantics.md
 * section 2, their C twins in twins/twin_defer.c) run in a task, each printed
 * beside what Go 1.19 prints for it; and the `panic` command: panic and
 * recover through 100 frames, a recovered nil dereference, and a chained
 * panic that kills only its task.
 */
#include "kernel.h"
#include "shell.h"

#include "defer.h"
#include "panic.h"
#include "rt.h"
#include "twins.h"

/* What each program printed; compared with Go only once the task has returned. */
static const char *const programs[5][2] = {
	{ "incr", "0 1" }, { "incrn", "0 2" }, { "deferArg", "1" }, { "deferClosure", "5" },
	{ "LIFO", "2 1 0" },
};
static char printed[5][16];

static uint64_t defer_programs(uint64_t unused)
{
	(void)unused;
	uint64_t a = 0, b;
	b = twin_incr(a);
	ksnprintf(printed[0], sizeof printed[0], "%lu %lu", a, b);
	b = twin_incrn(a);
	ksnprintf(printed[1], sizeof printed[1], "%lu %lu", a, b);
	ksnprintf(printed[2], sizeof printed[2], "%lu", twin_defer_arg());
	ksnprintf(printed[3], sizeof printed[3], "%lu", twin_defer_closure());
	twin_lifo(printed[4], sizeof printed[4]);
	return rt_defer_pending();
}

void cmd_defer(int argc, char **argv)
{
	(void)argc, (void)argv;
	uint64_t pending = 0;
	if (!task_run("defer", defer_programs, 0, "defer", &pending,
		      "no verdict about Go"))
		return;
	int matched = 0;
	for (int i = 0; i < 5; i++) {
		bool same = strcmp(programs[i][1], printed[i]) == 0;
		matched += same;
		kprintf("  %-13s Go prints %-6s here: %-6s %s\n", programs[i][0], programs[i][1],
			printed[i], same ? "matches Go" : "DIFFERS FROM GO");
	}
	kprintf("defer: %d of 5 match Go; %lu deferred calls left pending; %s\n", matched, pending,
		matched == 5 && pending == 0 ? "ok" : "FAILED");
}

/* ---- panic: Go's panic and recover on bare metal (twins/twin_panic.c) ---- */

#define OOM_RECOVERED 2 /* a program recovered the runtime's out-of-memory panic, not its own */

static bool oom(const struct twin_panic *p)
{
	return p->recovered && strncmp(p->recovered, TWIN_OOM, sizeof TWIN_OOM - 1) == 0;
}

static uint64_t panic_programs(uint64_t unused)
{
	(void)unused;
	struct twin_panic p;
	uint64_t v = twin_panic_deep(&p);
	kprintf("panic: through 100 frames: %d deferred calls ran%s, recovered \"%s\", top returned "
		"%lu\n", p.deferred_ran, p.in_order ? "" : " OUT OF ORDER",
		p.recovered ? p.recovered : "(nothing)", v);
	if (oom(&p))
		return OOM_RECOVERED;
	bool ok = p.deferred_ran == 100 && p.in_order && p.recovered &&
		  strcmp(p.recovered, "deep trouble") == 0 && v == 7;
	v = twin_panic_nil(&p, 0);
	kprintf("panic: nil dereference recovered: \"%s\", returned %lu\n",
		p.recovered ? p.recovered : "(nothing)", v);
	if (oom(&p))
		return OOM_RECOVERED;
	ok = ok && p.recovered && v == 5;
	v = twin_panic_repanic(&p);
	kprintf("panic: recovered \"first\", panicked again: the caller recovered \"%s\", returned %lu\n",
		p.recovered ? p.recovered : "(nothing)", v);
	ok = ok && p.recovered && strcmp(p.recovered, "second") == 0 && v == 11;
	return oom(&p) ? OOM_RECOVERED : ok;
}

void cmd_panic(int argc, char **argv)
{
	(void)argc, (void)argv;
	const char *no_verdict = "no verdict about panic and recover";
	struct rt_task *t = task_start("panic", panic_programs, 0, "panic", no_verdict);
	if (!t)
		return;
	struct rt_task *c = task_start("panic", twin_panic_chained, 0, "chained", no_verdict);
	run_tasks();
	uint64_t ok = 0;
	bool t_ran = task_end("panic", t, &ok, no_verdict);
	if (!c)
		return;
	/* The chained task must die, and of its own panic "first", not of anything else. */
	bool c_done = rt_join(c, NULL) == RT_EXIT_KILLED;
	bool c_own = c_done && strcmp(c->kill_reason, "panic: second") == 0;
	if (c_own)
		kprintf("panic: the chained panic killed only its task: yes\n");
	else
		task_died("panic", c, no_verdict);
	rt_reap(c);
	if (t_ran && ok == OOM_RECOVERED)
		kprintf("panic: a deferred call could not be recorded (out of memory): %s\n", no_verdict);
	else if (t_ran && c_own)
		kprintf("panic: %s\n", ok ? "ok" : "FAILED");
}
