/*
 * demo_incr.c: the `incr` demo (docs/go-semantics.md section 2): `return x` is
 * not atomic. First x goes to the result, then the deferred calls run,
 * then `ret`. With an anonymous result (incr) the deferred b++ changes a
 * local copy: the caller gets 1. With a named result (incrn) it changes
 * the result itself: 2. The drawings are the live frame at the return,
 * inside the deferred call, and what the caller receives; the C twins are
 * in twins/twin_defer.c. Then deferArg, deferClosure and LIFO order.
 */
#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "defer.h"
#include "rt.h"
#include "twins.h"


struct incr_main {
	uint64_t a, b;
	uintptr_t fp;
};

/*
 * Main's locals, found from a global: kept as their distance below the
 * stack's top, which no move changes (a pointer in a global would go stale
 * when the stack moves, as the escape demo shows). 0: none.
 */
static uintptr_t main_below_top;

static struct incr_main *main_locals(void)
{
	return (struct incr_main *)(rt_current()->stack_hi - main_below_top);
}
static const char *cur_name;
static struct demo_picture pic;
static char label_a[48], label_b[48], label_fp[48], label_ret[64];

static void observe(enum twin_stage stage, const struct twin_view *v)
{
	if (stage == TWIN_IN_DEFER) {
		demo_draw(&pic, "2. in the deferred func() { a++; b++ }");
		if (v->fp[1] != (uintptr_t)rt_defer_trampoline)
			kprintf("  (RT_RETURN put the real return address back before this call:\n"
				"  %s's `ret` goes straight to main)\n", cur_name);
		return;
	}
	pic = (struct demo_picture){ 0 };
	ksnprintf(label_a, sizeof label_a, "%s: a (the parameter)", cur_name);
	ksnprintf(label_b, sizeof label_b, v->result ? "%s: b (the named result)" : "%s: b (a local)",
		  cur_name);
	ksnprintf(label_fp, sizeof label_fp, "%s: saved rbp", cur_name);
	ksnprintf(label_ret, sizeof label_ret, "%s: return address", cur_name);
	struct incr_main *cur_main = main_locals();
	demo_pic_add(&pic, &cur_main->a, "main: a");
	demo_pic_add(&pic, &cur_main->b, "main: b");
	demo_pic_add(&pic, (void *)cur_main->fp, "BP of main");
	demo_pic_add(&pic, v->a, label_a);
	demo_pic_add(&pic, v->b, label_b);
	demo_pic_add(&pic, v->fp, label_fp);
	demo_pic_add(&pic, v->fp + 1, label_ret);
	demo_pic_range(&pic, v->a < v->b ? v->a : v->b, (void *)(cur_main->fp + 8));
	demo_draw(&pic, "1. at `return b`: the result is set, the deferred call has not run");
	if (v->fp[1] == (uintptr_t)rt_defer_trampoline)
		kprintf("  (the return address is rt_defer_trampoline: defer replaced it,\n"
			"  the guard that stops a plain `return`)\n");
	if (v->result)
		kprintf("  b is the named result: the caller will read it after the deferred call\n");
	else
		kprintf("  the result, %lu, is already copied out (in rax): b is only a local now\n",
			*v->b);
}

__attribute__((noinline)) static uint64_t use_stack(uint64_t depth)
{
	volatile char pad[256];
	pad[0] = 1;
	return depth ? use_stack(depth - 1) + pad[0] : 0;
}

static void received(const char *name, const char *go, struct incr_main *m)
{
	char got[16];
	kprintf("  3. back in main: b = %s(a) received %lu; main's a is still %lu\n", name, m->b, m->a);
	ksnprintf(got, sizeof got, "%lu %lu", m->a, m->b);
	demo_compare(name, go, got);
}

static uint64_t incr_main(uint64_t unused)
{
	(void)unused;
	use_stack(400); /* about 128 KiB: the drawings below never move the stack */
	struct incr_main m = { 0, 0, (uintptr_t)__builtin_frame_address(0) };
	main_below_top = rt_current()->stack_hi - (uintptr_t)&m;
	twin_observe = observe;
	/* Called from here, not from a helper, so "main" in the pictures is the real caller. */
	cur_name = "incr";
	kprintf("\nincr:\n");
	m.b = twin_incr(m.a);
	received("incr", "0 1", &m);
	m.a = m.b = 0;
	cur_name = "incrn";
	kprintf("\nincrn:\n");
	m.b = twin_incrn(m.a);
	received("incrn", "0 2", &m);
	twin_observe = NULL;
	main_below_top = 0;
	char got[16];
	kprintf("\n");
	ksnprintf(got, sizeof got, "%lu", twin_defer_arg());
	demo_compare("deferArg", "1", got);
	ksnprintf(got, sizeof got, "%lu", twin_defer_closure());
	demo_compare("deferClosure", "5", got);
	twin_lifo(got, sizeof got);
	demo_compare("LIFO", "2 1 0", got);
	return 0;
}

void cmd_incr(int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const go[] = {
		"func incr(a int) int {        // anonymous result",
		"    var b int",
		"    defer func() { a++; b++ }()",
		"    a++; b = a",
		"    return b",
		"}",
		"func incrn(a int) (b int) {   // named result",
		"    defer func() { a++; b++ }()",
		"    a++",
		"    return a",
		"}",
		"b = incr(a);  println(a, b)   // 0 1",
		"b = incrn(a); println(a, b)   // 0 2",
		"deferArg() 1, deferClosure() 5, for i := 0..2 { defer print(i) }: 2 1 0",
		NULL,
	};
	kprintf("incr: `return x` sets the result, then deferred calls run, then ret\n");
	demo_go_source(go);
	int matched = demo_run("incr", incr_main, "incr", NULL);
	/* A task that died may have left these pointing into its freed stack. */
	twin_observe = NULL;
	main_below_top = 0;
	if (matched >= 0)
		kprintf("incr: %d of 5 match Go\n", matched);
}
