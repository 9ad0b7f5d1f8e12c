/*
 * defers.c: the `defer` command: Go's defer programs (GO_SEMANTICS.md
 * section 2) run by the runtime's defer in a task, each printed beside
 * what Go 1.19 prints for it.
 */
#include "kernel.h"
#include "tasks.h"

#include "../runtime/closure.h"
#include "../runtime/defer.h"
#include "../runtime/rt.h"

struct ab {
	uint64_t *a, *b;
};

RT_CLOSURE_CODE(defer_bump_ab, void);
void defer_bump_ab_body(void *env)
{
	struct ab *e = env;
	++*e->a;
	++*e->b;
}

/* func incr(a int) int { var b int; defer func() { a++; b++ }(); a++; b = a; return b } */
RT_DEFERS static uint64_t incr(uint64_t a)
{
	uint64_t b = 0;
	struct ab env = { &a, &b };
	void *f = rt_closure_new(defer_bump_ab, &env);
	rt_defer((void *)rt_closure_free, 1, (uint64_t)f);
	rt_defer(f, 0);
	a++;
	b = a;
	RT_RETURN(b);
}

/* func incrn(a int) (b int) { defer func() { a++; b++ }(); a++; return a } */
RT_DEFERS static uint64_t incrn(uint64_t a)
{
	uint64_t b = 0;
	rt_defer_result(&b);
	struct ab env = { &a, &b };
	void *f = rt_closure_new(defer_bump_ab, &env);
	rt_defer((void *)rt_closure_free, 1, (uint64_t)f);
	rt_defer(f, 0);
	a++;
	b = a;
	RT_RETURN(b);
}

RT_CLOSURE_CODE(defer_set_r, void, uint64_t);
void defer_set_r_body(void *env, uint64_t v) { *(uint64_t *)env = v; }

/* func deferArg() (r int) { x := 1; defer func(v int) { r = v }(x); x = 5; return 0 } */
RT_DEFERS static uint64_t defer_arg(void)
{
	uint64_t r = 0, x = 1;
	rt_defer_result(&r);
	void *f = rt_closure_new(defer_set_r, &r);
	rt_defer((void *)rt_closure_free, 1, (uint64_t)f);
	rt_defer(f, 1, x);
	x = 5;
	r = 0;
	RT_RETURN(r);
}

struct rx {
	uint64_t *r, *x;
};

RT_CLOSURE_CODE(defer_copy_x, void);
void defer_copy_x_body(void *env)
{
	struct rx *e = env;
	*e->r = *e->x;
}

/* func deferClosure() (r int) { x := 1; defer func() { r = x }(); x = 5; return 0 } */
RT_DEFERS static uint64_t defer_closure(void)
{
	uint64_t r = 0, x = 1;
	rt_defer_result(&r);
	struct rx env = { &r, &x };
	void *f = rt_closure_new(defer_copy_x, &env);
	rt_defer((void *)rt_closure_free, 1, (uint64_t)f);
	rt_defer(f, 0);
	x = 5;
	r = 0;
	RT_RETURN(r);
}

static char order[8];
static int order_len;

static void note(uint64_t i)
{
	if (order_len < 6) {
		order[order_len++] = (char)('0' + i);
		order[order_len++] = ' ';
	}
}

/* for i := 0; i < 3; i++ { defer print(i, " ") } */
RT_DEFERS static void lifo(void)
{
	for (uint64_t i = 0; i < 3; i++)
		rt_defer((void *)note, 1, i);
	RT_RETURN_VOID();
}

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
	b = incr(a);
	ksnprintf(buf, sizeof buf, "%lu %lu", a, b);
	show("incr", "0 1", buf);
	b = incrn(a);
	ksnprintf(buf, sizeof buf, "%lu %lu", a, b);
	show("incrn", "0 2", buf);
	ksnprintf(buf, sizeof buf, "%lu", defer_arg());
	show("deferArg", "1", buf);
	ksnprintf(buf, sizeof buf, "%lu", defer_closure());
	show("deferClosure", "5", buf);
	order_len = 0;
	lifo();
	order[order_len ? order_len - 1 : 0] = '\0';
	show("LIFO", "2 1 0", order);
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
