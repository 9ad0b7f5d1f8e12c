/*
 * demo_frames.c: the `frames` demo: the sum(a, b) example of docs/go-semantics.md section 0, its
 * frame laid out with offsets from SP like the table there, read from the
 * live stack while sum is about to return.
 *
 *     func sum(a, b int) int { a2 := a * a; b2 := b * b; c := a2 + b2; return c }
 *
 * sum's locals are volatile so they live in memory, as Go's do with
 * -gcflags="-N -l" (the build that table comes from).
 */
#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "rt.h"

/*
 * The table's words are kept in globals, which the stack mover does not
 * adjust, and the stack may move at any instruction (the move-stress
 * switch): so each is kept as its distance below the stack's top, which no
 * move changes, and made an address again only where it is read.
 */
struct slot {
	uintptr_t below_top;
	const char *what;
};

static struct slot slots[16];
static int nslots;
static uintptr_t sum_sp, sum_fp, main_fp; /* distances below the top, too */
static char ret_sum[48];

static uintptr_t below_top(uintptr_t addr) { return rt_current()->stack_hi - addr; }
static uintptr_t addr_of(uintptr_t below) { return rt_current()->stack_hi - below; }

static void note(const volatile void *addr, const char *what)
{
	if (nslots < 16)
		slots[nslots++] = (struct slot){ below_top((uintptr_t)addr), what };
}

/* Prints the table, high addresses first, with frame boundaries marked. */
static void table(void)
{
	for (int i = 1; i < nslots; i++)
		for (int j = i; j > 0 && slots[j].below_top < slots[j - 1].below_top; j--) {
			struct slot t = slots[j];
			slots[j] = slots[j - 1];
			slots[j - 1] = t;
		}
	kprintf("\n  offset   address            value               what\n");
	kprintf("  ---------------------------------------------------------- main's frame\n");
	for (int i = 0; i < nslots; i++) {
		uintptr_t a = addr_of(slots[i].below_top);
		uint64_t v = *(volatile uint64_t *)a;
		char value[24], off[12];
		if (slots[i].below_top == sum_fp) /* as the Go table draws it: sum's frame starts at its saved rbp */
			kprintf("  ---------------------------------------------------------- sum's frame\n");
		ksnprintf(value, sizeof value, v > 0xffff ? "%#lx" : "%lu", v);
		ksnprintf(off, sizeof off, "SP+%#lx", sum_sp - slots[i].below_top);
		kprintf("  %-8s %#018lx %-18s  %s\n", off, a, value, slots[i].what);
	}
	kprintf("  ---------------------------------------------------------- SP of sum\n");
}

/* func sum(a, b int) int */
__attribute__((noinline)) static uint64_t sum(uint64_t a, uint64_t b)
{
	volatile uint64_t pa = a, pb = b; /* the arguments came in rdi and rsi; the copies */
	volatile uint64_t a2 = pa * pa;
	volatile uint64_t b2 = pb * pb;
	volatile uint64_t c = a2 + b2;
	uintptr_t *fp = __builtin_frame_address(0);
	uintptr_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	sum_sp = below_top(sp);
	sum_fp = below_top((uintptr_t)fp);
	symbolize(fp[1], ret_sum, sizeof ret_sum);
	nslots = 0;
	note(&c, "c = a2 + b2");
	note(&b2, "b2 = b * b");
	note(&a2, "a2 = a * a");
	note(&pb, "b (arrived in rsi)");
	note(&pa, "a (arrived in rdi)");
	note(fp, "main's rbp (saved by sum)");
	note(fp + 1, "return into main");
	note((void *)addr_of(main_fp), "its caller's rbp (by main)");
	note((void *)(addr_of(main_fp) + 8), "return into main's caller");
	table();
	kprintf("  (return addresses: sum returns to %s)\n", ret_sum);
	return c; /* the result goes back in rax, not in a stack slot */
}

static uint64_t frames_main(uint64_t unused)
{
	(void)unused;
	main_fp = below_top((uintptr_t)__builtin_frame_address(0));
	uint64_t r = sum(1, 2);
	kprintf("\n  sum(1, 2) = %lu (Go: 5)\n", r);
	return r;
}

void cmd_frames(int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const go[] = {
		"func main() { sum(1, 2) }",
		"func sum(a, b int) int { a2 := a * a; b2 := b * b; c := a2 + b2; return c }",
		NULL,
	};
	kprintf("frames: sum's frame as Go's table draws it, from the live stack\n");
	demo_go_source(go);
	kprintf("Go 1.19 (-N -l) keeps, from sum's SP: +0x0 the result, +0x8 c, +0x10 b2,\n"
		"+0x18 a2, +0x20 main's rbp, +0x28 the return address; a and b are spilled\n"
		"into main's frame. The C ABI passes a and b in registers and returns the\n"
		"result in rax; here the copies of a and b sit in sum's own frame:\n");
	uint64_t r = 0;
	if (demo_run("frames", frames_main, "frames", &r) < 0)
		return;
	char got[24];
	ksnprintf(got, sizeof got, "%lu", r);
	demo_compare("sum(1, 2)", "5", got);
}
