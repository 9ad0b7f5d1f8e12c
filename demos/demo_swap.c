/*
 * demo_swap.c: the `swap` demo (docs/go-semantics.md section 1): parameters
 * are value copies. swap exchanges its own copies and main's a and b stay
 * 1 2; swapp gets copies of the addresses and writes through them: 2 1.
 * A third run makes swapp's callee grow (move) the stack before swapp
 * writes through its pointers: still 2 1, because the moved pointers were
 * adjusted. Everything runs in a task, on a growable stack; the pictures
 * are the live memory of its frames.
 */
#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "rt.h"

struct main_locals {
	uint64_t a, b;
	uintptr_t fp; /* main's frame pointer: here, in the stack, it moves with it (a global would go stale) */
};

static struct demo_picture pic;
static char ret_label[64], saved_label[64];

static void print_stack(const char *when)
{
	struct rt_task *t = rt_current();
	kprintf("  stack: [%#lx, %#lx) %lu KiB (%s)\n", t->stack_lo, t->stack_hi,
		(t->stack_hi - t->stack_lo) >> 10, when);
}

/* Labels the callee's frame record and main's locals, and adds the words in between. */
static void picture(struct demo_picture *p, struct main_locals *m, const char *callee,
		    const volatile void *low, uintptr_t *fp)
{
	*p = (struct demo_picture){ 0 };
	char sym[48];
	symbolize(fp[1], sym, sizeof sym);
	ksnprintf(ret_label, sizeof ret_label, "%s: return to %.20s", callee, sym);
	ksnprintf(saved_label, sizeof saved_label, "%s: saved rbp", callee);
	demo_pic_add(p, &m->a, "main: a");
	demo_pic_add(p, &m->b, "main: b");
	demo_pic_add(p, (void *)m->fp, "BP of main");
	demo_pic_add(p, fp, saved_label); /* fp: the callee's frame pointer */
	demo_pic_add(p, fp + 1, ret_label);
	demo_pic_range(p, (const void *)low, (void *)(m->fp + 8));
}

/* func swap(a, b int) { a, b = b, a } */
__attribute__((noinline)) static void swap(uint64_t a, uint64_t b, struct main_locals *m)
{
	volatile uint64_t ca = a, cb = b; /* Go passes a and b as copies in the callee's frame */
	picture(&pic, m, "swap", &cb < &ca ? &cb : &ca, __builtin_frame_address(0));
	demo_pic_add(&pic, &ca, "swap: a (a copy of main's a)");
	demo_pic_add(&pic, &cb, "swap: b (a copy of main's b)");
	demo_draw(&pic, "inside swap(a, b), before a, b = b, a");
	uint64_t t = ca;
	ca = cb;
	cb = t;
	demo_draw(&pic, "after a, b = b, a: swap's copies changed; main's a and b did not");
}

/* func swapp(a, b *int) { *a, *b = *b, *a } */
__attribute__((noinline)) static void swapp(uint64_t *a, uint64_t *b, struct main_locals *m)
{
	uint64_t *volatile ca = a, *volatile cb = b; /* copies of the addresses */
	picture(&pic, m, "swapp", &cb < &ca ? (void *)&cb : (void *)&ca, __builtin_frame_address(0));
	demo_pic_add(&pic, (void *)&ca, "swapp: a (copy of &a)");
	demo_pic_add(&pic, (void *)&cb, "swapp: b (copy of &b)");
	demo_draw(&pic, "inside swapp(&a, &b), before *a, *b = *b, *a");
	uint64_t t = *ca;
	*ca = *cb;
	*cb = t;
	demo_draw(&pic, "after *a, *b = *b, *a: written through the pointers into main's a, b");
}

__attribute__((noinline)) static uint64_t grow_deep(uint64_t depth)
{
	volatile char pad[200];
	pad[0] = 1;
	return depth ? grow_deep(depth - 1) + pad[0] : 0;
}

/* The stack before the move, for the report. Globals on purpose: in the
 * stack, these numbers would look like stack addresses and be adjusted. */
static uintptr_t old_lo, old_hi, old_a;

/* swapp, but a call deep enough to move the stack comes before the writes. */
__attribute__((noinline)) static void swapp_moved(uint64_t *a, uint64_t *b, struct main_locals *m)
{
	uint64_t *volatile ca = a, *volatile cb = b;
	struct rt_task *t = rt_current();
	old_lo = t->stack_lo, old_hi = t->stack_hi, old_a = (uintptr_t)ca;
	picture(&pic, m, "swapp", &cb < &ca ? (void *)&cb : (void *)&ca, __builtin_frame_address(0));
	demo_pic_add(&pic, (void *)&ca, "swapp: a (copy of &a)");
	demo_pic_add(&pic, (void *)&cb, "swapp: b (copy of &b)");
	demo_draw(&pic, "inside swapp(&a, &b), before the deep call");
	grow_deep(3000); /* about 600 KiB of frames: the stack moves several times */
	kprintf("\n  the deep call moved the stack (%lu moves):\n", t->stats.grows);
	kprintf("    from [%#lx, %#lx)\n", old_lo, old_hi);
	kprintf("      to [%#lx, %#lx)\n", t->stack_lo, t->stack_hi);
	kprintf("  swapp's copy of &a was %#lx, now %#lx\n", old_a, (uintptr_t)ca);
	kprintf("  (adjusted with the stack, as Go adjusts pointers into a moved stack)\n");
	picture(&pic, m, "swapp", &cb < &ca ? (void *)&cb : (void *)&ca, __builtin_frame_address(0));
	demo_pic_add(&pic, (void *)&ca, "swapp: a (copy of &a)");
	demo_pic_add(&pic, (void *)&cb, "swapp: b (copy of &b)");
	uint64_t tmp = *ca;
	*ca = *cb;
	*cb = tmp;
	demo_draw(&pic, "after the move and *a, *b = *b, *a: main's a, b at their new addresses");
}

static uint64_t swap_main(uint64_t unused)
{
	(void)unused;
	struct main_locals m = { 1, 2, (uintptr_t)__builtin_frame_address(0) };
	char got[16];
	int matched = 0;
	print_stack("at the start");
	swap(m.a, m.b, &m);
	ksnprintf(got, sizeof got, "%lu %lu", m.a, m.b);
	matched += demo_compare("swap(a, b)", "1 2", got);
	swapp(&m.a, &m.b, &m);
	ksnprintf(got, sizeof got, "%lu %lu", m.a, m.b);
	matched += demo_compare("swapp(&a, &b)", "2 1", got);
	m.a = 1, m.b = 2;
	swapp_moved(&m.a, &m.b, &m);
	print_stack("at the end");
	ksnprintf(got, sizeof got, "%lu %lu", m.a, m.b);
	matched += demo_compare("swapp, moved", "2 1", got);
	return (uint64_t)matched;
}

void cmd_swap(int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const go[] = {
		"func swap(a, b int)   { a, b = b, a }",
		"func swapp(a, b *int) { *a, *b = *b, *a }",
		"a, b := 1, 2",
		"swap(a, b);    println(a, b)   // 1 2",
		"swapp(&a, &b); println(a, b)   // 2 1",
		NULL,
	};
	kprintf("swap: parameters are value copies in the callee's frame\n");
	demo_go_source(go);
	int matched = demo_run("swap", swap_main, "swap", NULL);
	if (matched >= 0)
		kprintf("swap: %d of 3 match Go\n", matched);
}
