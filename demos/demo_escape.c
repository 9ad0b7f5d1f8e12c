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
 *            only that task dies;
 *   New      new(int) that does not escape: Go keeps it in the frame, and
 *            so does the twin; it moves with the stack;
 *   dep      a pointer to a pointer kept in a global (pp = &p; p = &a): Go
 *            moves both p and a to the heap; here both stay in the stack,
 *            p is adjusted at the move, and pp and the &a it led to are
 *            stale: the demo asks the runtime where each now points;
 *   arg      RetArg called through a function the compiler cannot see (Go:
 *            go:linkname; here a routine in assembly): Go assumes the worst
 *            and moves b to the heap; here the pointer it returns lives in
 *            the stack and is adjusted like any other.
 * What Go 1.19 decides for each (go build -gcflags=-m) is in
 * docs/go-semantics.md section 3.
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

/* Grows the stack until it moves (3000 frames of 200 bytes) and prints the
 * old and new ranges. */
static void move_and_show(void)
{
	struct rt_task *t = rt_current();
	before_lo = t->stack_lo;
	before_hi = t->stack_hi;
	move_stack(3000);
	t = rt_current();
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
	move_and_show();
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
	move_and_show();
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
static volatile bool reading_stale; /* the task got as far as its stale read */

static uint64_t set_new_task(uint64_t unused)
{
	(void)unused;
	uint64_t a = 5;
	pt = &a;
	pic = (struct demo_picture){ 0 };
	demo_pic_add(&pic, &a, "setNew: a");
	demo_pic_add(&pic, (void *)&pt, "pt (a global)");
	demo_draw(&pic, "before the move: the global pt points at a");
	move_and_show();
	/* Never draw the old address itself: it is unmapped now. */
	pic = (struct demo_picture){ 0 };
	demo_pic_add(&pic, &a, "setNew: a (moved)");
	demo_pic_add(&pic, (void *)&pt, "pt: points at the old a");
	demo_draw(&pic, "after the move: a moved with the stack, pt did not");
	kprintf("    pt is still %#lx: a global, the runtime cannot see it\n", (uintptr_t)pt);
	kprintf("    reading *pt...\n");
	reading_stale = true;
	return *pt;
}

/* Prints the runtime's description of addr, wrapped at 76 columns. */
static void print_where(const char *what, uintptr_t addr)
{
	char buf[320];
	if (!rt_stack_describe(addr, buf, sizeof buf))
		ksnprintf(buf, sizeof buf, "not in any stack the runtime knows");
	kprintf("    %s %#lx:\n", what, addr);
	const char *w = buf;
	while (*w) {
		int n = 0, cut = 0;
		while (w[n] && n < 70) {
			if (w[n] == ' ')
				cut = n;
			n++;
		}
		if (!w[n] || !cut)
			cut = n;
		kprintf("      %.*s\n", cut, w);
		w += cut;
		while (*w == ' ')
			w++;
	}
}

/* func New() int { p := new(int); return *p }: "new(int) does not escape". */
static uint64_t new_task(uint64_t unused)
{
	(void)unused;
	uint64_t cell = 0;            /* what Go made of new(int): a slot in New's frame */
	uint64_t *volatile p = &cell; /* p := new(int) */
	print_where("new(int) is at", (uintptr_t)&cell);
	before_addr = (uintptr_t)p;
	move_and_show();
	after_addr = (uintptr_t)p;
	kprintf("    p before the move: %#lx, after: %#lx\n", before_addr, after_addr);
	kprintf("    (new(int) moved with the frame, and p with it)\n");
	return p == &cell ? *p : 1000;
}

/* var pp **int; func dep() { var a int; var p *int; p = &a; pp = &p } */
static uint64_t **volatile pp;
static volatile uintptr_t dep_old_a; /* a number: where a was before the move */

static uint64_t dep_task(uint64_t unused)
{
	(void)unused;
	uint64_t a = 0;
	uint64_t *volatile p = &a;
	pp = (uint64_t **)&p;
	dep_old_a = (uintptr_t)&a;
	pic = (struct demo_picture){ 0 };
	demo_pic_add(&pic, &a, "dep: a");
	demo_pic_add(&pic, (void *)&p, "dep: p");
	demo_pic_add(&pic, (void *)&pp, "pp (a global)");
	demo_draw(&pic, "before the move: pp -> p -> a");
	move_and_show();
	kprintf("    p lives in the stack: adjusted, it is &a again: %s\n", p == &a ? "yes" : "NO");
	kprintf("    pp is a global the runtime cannot see; where its chain points now:\n");
	print_where("pp (was &p) =", (uintptr_t)pp);
	print_where("and *pp was &a =", dep_old_a);
	kprintf("    reading **pp...\n");
	reading_stale = true;
	return **pp;
}

/* RetArg, seen through a routine the compiler cannot look into (Go's
 * go:linkname retArg): it returns its argument, and keeps a copy in a
 * variable of its own, where neither the compiler nor the runtime looks. */
uint64_t *escape_ret_arg_opaque(uint64_t *p);
__asm__(".data\n\t.p2align 3\nescape_opaque_kept:\n\t.quad 0\n"
	".text\n\t.globl escape_ret_arg_opaque\n\t.type escape_ret_arg_opaque, @function\n"
	"escape_ret_arg_opaque:\n\t"
	"mov %rdi, escape_opaque_kept(%rip)\n\t"
	"mov %rdi, %rax\n\t"
	"ret\n\t"
	".size escape_ret_arg_opaque, . - escape_ret_arg_opaque\n\t"
	".globl escape_opaque_kept_value\n\t.type escape_opaque_kept_value, @function\n"
	"escape_opaque_kept_value:\n\t"
	"mov escape_opaque_kept(%rip), %rax\n\t"
	"ret\n\t"
	".size escape_opaque_kept_value, . - escape_opaque_kept_value\n\t.previous");
uintptr_t escape_opaque_kept_value(void);

/* func arg() int { var a, b int; return *gom.RetArg(&a) + *retArg(&b) } */
static uint64_t arg_task(uint64_t unused)
{
	(void)unused;
	uint64_t a = 0, b = 0;
	uint64_t *volatile pa = ret_arg(&a);
	uint64_t *volatile pb = escape_ret_arg_opaque(&b);
	before_addr = (uintptr_t)pb;
	move_and_show();
	after_addr = (uintptr_t)pb;
	kprintf("    retArg(&b) before the move: %#lx, after: %#lx\n", before_addr, after_addr);
	kprintf("    (kept in the stack, so adjusted: &b %s)\n", pb == &b ? "still" : "NOT ANY MORE");
	kprintf("    the copy retArg kept for itself was not adjusted: nobody knew of it\n");
	print_where("retArg's own copy =", escape_opaque_kept_value());
	return pa == &a && pb == &b ? *pa + *pb : 1000;
}

static int matched, died;

/* Runs one case in a task of its own; go is what Go prints, or NULL for a
 * case meant to die of its stale read; go_did then says what Go did instead. */
static void run(const char *name, rt_func fn, const char *go, const char *go_did)
{
	kprintf("\n  %s:\n", name);
	const char *no_verdict = "no verdict about this case";
	reading_stale = false;
	struct rt_task *t = task_start("escape", fn, 0, name, no_verdict);
	if (!t) {
		died++;
		return;
	}
	run_tasks();
	uint64_t v = 0;
	enum rt_exit_kind k = rt_join(t, &v);
	/* setNew is meant to die, but only of the stale read; a death anywhere else says nothing. */
	bool stale_fault = !go && k == RT_EXIT_KILLED && reading_stale;
	if (k != RT_EXIT_RETURNED && !stale_fault) {
		task_died("escape", t, no_verdict);
		died++;
	} else if (go) {
		char got[24];
		ksnprintf(got, sizeof got, "%lu", v);
		matched += demo_compare(name, go, got);
	} else if (stale_fault) {
		kprintf("    only the %s task died; the shell and other tasks go on. %s\n"
			"    C has no escape analysis, so the runtime's unmapped old stack caught\n"
			"    the stale pointer instead.\n", name, go_did);
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
		"func New() int { p := new(int); return *p }  // new(int) does not escape",
		"var pp **int",
		"func dep() { var a int; var p *int; p = &a; pp = &p } // a, p moved to heap",
		"func arg() int { var a, b int; return *RetArg(&a) + *retArg(&b) }",
		"    // retArg is RetArg by go:linkname, unseen: b moved to heap",
		NULL,
	};
	kprintf("escape: what may point into a stack that moves\n");
	demo_go_source(go);
	matched = died = 0;
	run("newInt", new_int_task, "42", NULL);
	run("RetArg", ret_arg_task, "7", NULL);
	/* The stale cases' old stacks must be unmapped, not cached, for their
	 * stale reads to fault. */
	bool reuse = !rt_stack_fault_on_free;
	rt_set_stack_fault_on_free(true);
	run("setNew", set_new_task, NULL, "Go would\n    have moved a to the heap (\"moved to heap: a\").");
	run("New", new_task, "0", NULL);
	run("dep", dep_task, NULL, "Go would\n    have moved both to the heap (\"moved to heap: a\", \"... p\").");
	rt_set_stack_fault_on_free(!reuse);
	run("arg", arg_task, "0", NULL);
	if (died)
		kprintf("escape: %d of 6 cases did not finish (above): no verdict about them\n", died);
	else
		kprintf("escape: %d of 6 as expected\n", matched);
}
