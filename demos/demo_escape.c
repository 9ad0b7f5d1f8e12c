/*
 * demo_escape.c: the `escape` demo (docs/go-semantics.md section 3): what may
 * point into a stack. Go's escape analysis moves to the heap any variable
 * whose address outlives its frame or lands in a global, so its runtime
 * only has to fix pointers inside stacks when one moves. C has no escape
 * analysis; each case runs in a task of its own on the real runtime:
 *   newInt   a value the program puts in the heap ("moved to heap")
 *            survives any number of stack moves;
 *   RetArg   a pointer to a local passed down the stack is adjusted;
 *   setNew   a pointer to a local kept in a global goes stale when the
 *            stack moves: the access faults, the report says why, and
 *            only that task dies.
 */
#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "heap.h"
#include "panic.h"
#include "rt.h"

__attribute__((noinline)) static uint64_t move_stack(uint64_t depth)
{
	volatile char pad[200];
	pad[0] = 1;
	return depth ? move_stack(depth - 1) + pad[0] : 0;
}

/* Globals: numbers for the report, not pointers the runtime would adjust. */
static uintptr_t before_lo, before_hi, before_addr, after_addr;

static void remember_stack(void)
{
	struct rt_task *t = rt_current();
	before_lo = t->stack_lo;
	before_hi = t->stack_hi;
}

static void show_move(void)
{
	struct rt_task *t = rt_current();
	kprintf("    the stack moved from [%#lx, %#lx)\n", before_lo, before_hi);
	kprintf("                      to [%#lx, %#lx)\n", t->stack_lo, t->stack_hi);
}

/* func newInt() *int { var a int; return &a }: a is moved to the heap. */
static uint64_t new_int_task(uint64_t unused)
{
	(void)unused;
	uint64_t *p = rt_alloc(sizeof *p); /* what Go's escape analysis does for a */
	if (!p)
		rt_panic("out of memory: newInt's a");
	*p = 42;
	before_addr = (uintptr_t)p;
	remember_stack();
	move_stack(3000);
	show_move();
	after_addr = (uintptr_t)p;
	kprintf("    p before the move: %#lx, after: %#lx\n", before_addr, after_addr);
	kprintf("    (a heap address: the move does not touch it)\n");
	uint64_t v = *p;
	rt_free(p);
	return v;
}

/* func RetArg(p *int) *int { return p }: &a stays on the stack. */
__attribute__((noinline)) static uint64_t *ret_arg(uint64_t *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

static struct demo_picture pic;

static uint64_t ret_arg_task(uint64_t unused)
{
	(void)unused;
	uint64_t a = 0;
	uint64_t *volatile p = ret_arg(&a);
	pic = (struct demo_picture){ 0 };
	demo_pic_add(&pic, &a, "main: a");
	demo_pic_add(&pic, (void *)&p, "main: p = RetArg(&a)");
	demo_draw(&pic, "before the move: p points at a");
	before_addr = (uintptr_t)p;
	remember_stack();
	move_stack(3000);
	show_move();
	pic = (struct demo_picture){ 0 };
	demo_pic_add(&pic, &a, "main: a");
	demo_pic_add(&pic, (void *)&p, "main: p = RetArg(&a)");
	demo_draw(&pic, "after the move: both moved, p still points at a");
	*p = 7; /* p was adjusted with the stack: it points at a's new place */
	after_addr = (uintptr_t)p;
	kprintf("    p before the move: %#lx, after: %#lx\n", before_addr, after_addr);
	kprintf("    (in the stack, p was adjusted with it: still &a)\n");
	return a == 7 && p == &a ? a : 0;
}

/* var pt *int; func setNew() { var a int; pt = &a }: Go moves a to the heap; C cannot. */
static uint64_t *volatile pt;
static volatile bool reading_pt; /* the task got as far as the stale read */

static uint64_t set_new_task(uint64_t unused)
{
	(void)unused;
	uint64_t a = 5;
	pt = &a;
	pic = (struct demo_picture){ 0 };
	demo_pic_add(&pic, &a, "setNew: a");
	demo_pic_add(&pic, (void *)&pt, "pt (a global)");
	demo_draw(&pic, "before the move: the global pt points at a");
	remember_stack();
	move_stack(3000);
	show_move();
	/* Never draw the old address itself: it is unmapped now. */
	pic = (struct demo_picture){ 0 };
	demo_pic_add(&pic, &a, "setNew: a (moved)");
	demo_pic_add(&pic, (void *)&pt, "pt: points at the old a");
	demo_draw(&pic, "after the move: a moved with the stack, pt did not");
	kprintf("    pt is still %#lx: a global, the runtime cannot see it\n", (uintptr_t)pt);
	kprintf("    reading *pt...\n");
	reading_pt = true;
	return *pt;
}

static int matched, died;

/* Runs one case in a task of its own; go is what Go prints (NULL: setNew). */
static void run(const char *name, rt_func fn, const char *go)
{
	kprintf("\n  %s:\n", name);
	const char *no_verdict = "no verdict about this case";
	reading_pt = false;
	struct rt_task *t = task_start("escape", fn, 0, name, no_verdict);
	if (!t) {
		died++;
		return;
	}
	run_tasks();
	uint64_t v = 0;
	enum rt_exit_kind k = rt_join(t, &v);
	/* setNew is meant to die, but only of the stale read; a death anywhere else says nothing. */
	bool stale_fault = !go && k == RT_EXIT_KILLED && reading_pt;
	if (k != RT_EXIT_RETURNED && !stale_fault) {
		task_died("escape", t, no_verdict);
		died++;
	} else if (go) {
		char got[24];
		ksnprintf(got, sizeof got, "%lu", v);
		matched += demo_compare(name, go, got);
	} else if (stale_fault) {
		kprintf("    only the setNew task died; the shell and other tasks go on. Go would\n"
			"    have moved a to the heap (\"moved to heap\"): C has no escape analysis,\n"
			"    so the runtime's unmapped old stack caught the stale pointer instead.\n");
		matched++;
	} else {
		kprintf("    the stale pointer did not fault: read %lu\n", v);
	}
	rt_reap(t);
}

void cmd_escape(int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const go[] = {
		"func newInt() *int { var a int; return &a } // a is moved to heap",
		"var pt *int",
		"func setNew() { var a int; pt = &a }         // a is moved to heap",
		"func RetArg(p *int) *int { return p }        // &a stays on the stack",
		NULL,
	};
	kprintf("escape: what may point into a stack that moves\n");
	demo_go_source(go);
	matched = died = 0;
	run("newInt", new_int_task, "42");
	run("RetArg", ret_arg_task, "7");
	/* setNew's old stack must be unmapped, not cached, for its stale read to fault. */
	bool reuse = !rt_stack_fault_on_free;
	rt_set_stack_fault_on_free(true);
	run("setNew", set_new_task, NULL);
	rt_set_stack_fault_on_free(!reuse);
	if (died)
		kprintf("escape: %d of 3 cases did not finish (above): no verdict about them\n", died);
	else
		kprintf("escape: %d of 3 as expected\n", matched);
}
