/*
 * demo_layout.c: the `layout` demo: arguments and results laid out like
 * struct fields (docs/go-semantics.md section 7), from live addresses.
 *
 *   type args struct { a int8; b int64; c int32; d int16 }
 *   func f1(a args) (r args)
 *   func f2(aa int8, ab int64, ac int32, ad int16) (ra int8, rb int64, rc int32, rd int16)
 *
 * Go printed the addresses of every field, argument and result (the notes
 * keep them; the table beside ours below). Here the C twins print the same
 * addresses on this runtime, and a third function with ten one-byte
 * arguments shows what happens past the six argument registers: each
 * argument on the stack takes a whole 8-byte slot.
 */
#include <stddef.h>

#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "rt.h"

struct args {
	int8_t a;  /* 1 */
	int64_t b; /* 8 */
	int32_t c; /* 4 */
	int16_t d; /* 2 */
};

static const char *where(uintptr_t p)
{
	struct rt_task *t = rt_current();
	return p >= t->stack_lo && p < t->stack_hi ? "stack" : "elsewhere";
}

/* func f1(a args) (r args): a 24-byte struct goes by memory both ways. */
__attribute__((noipa)) static struct args f1(struct args a)
{
	struct args r = { 0, 0, 0, 0 };
	uintptr_t *fp = __builtin_frame_address(0);
	kprintf("\n  f1(a args) (r args): sizeof(struct args) = %lu, as in Go\n", sizeof(struct args));
	const volatile void *pa[] = { &a.a, &a.b, &a.c, &a.d }, *pr[] = { &r.a, &r.b, &r.c, &r.d };
	static const char *const names[] = { "a", "b", "c", "d" };
	static const size_t offs[] = { offsetof(struct args, a), offsetof(struct args, b),
				       offsetof(struct args, c), offsetof(struct args, d) };
	static const size_t sizes[] = { sizeof a.a, sizeof a.b, sizeof a.c, sizeof a.d };
	/* pad: what lies between the field's end and the next field (or the end). */
	kprintf("    field  offset  size  pad  &a (the argument)    &r (the result)\n");
	for (int i = 3; i >= 0; i--) {
		size_t next = i < 3 ? offs[i + 1] : sizeof(struct args);
		kprintf("    %-5s  %-6lu  %-4lu  %-3lu  %#018lx   %#018lx\n", names[i], offs[i], sizes[i],
			next - offs[i] - sizes[i], (uintptr_t)pa[i], (uintptr_t)pr[i]);
	}
	kprintf("    f1's return address is at %#lx; a is %s it, in the %s:\n",
		(uintptr_t)(fp + 1), (uintptr_t)&a > (uintptr_t)(fp + 1) ? "above" : "below",
		where((uintptr_t)&a));
	kprintf("    the caller copied it into its own frame (24 bytes: by memory, not registers)\n");
	demo_pause();
	return r;
}

struct results {
	int8_t ra;
	int64_t rb;
	int32_t rc;
	int16_t rd;
};

/* func f2(aa int8, ab int64, ac int32, ad int16) (ra int8, rb int64, rc int32, rd int16) */
__attribute__((noipa)) static struct results f2(int8_t aa, int64_t ab, int32_t ac, int16_t ad)
{
	volatile int8_t vaa = aa;
	volatile int64_t vab = ab;
	volatile int32_t vac = ac;
	volatile int16_t vad = ad;
	struct results r = { 0, 0, 0, 0 };
	kprintf("\n  f2(aa int8, ab int64, ac int32, ad int16): in rdi, rsi, rdx, rcx; f2 keeps\n"
		"  copies in its own frame, where the compiler chose:\n");
	kprintf("    argument  address              arrived in\n");
	kprintf("    aa        %#018lx   rdi\n", (uintptr_t)&vaa);
	kprintf("    ab        %#018lx   rsi\n", (uintptr_t)&vab);
	kprintf("    ac        %#018lx   rdx\n", (uintptr_t)&vac);
	kprintf("    ad        %#018lx   rcx\n", (uintptr_t)&vad);
	kprintf("    results (one struct, returned through memory the caller passes):\n");
	kprintf("    result    address              offset\n");
	kprintf("    ra        %#018lx   %lu\n", (uintptr_t)&r.ra, offsetof(struct results, ra));
	kprintf("    rb        %#018lx   %lu\n", (uintptr_t)&r.rb, offsetof(struct results, rb));
	kprintf("    rc        %#018lx   %lu\n", (uintptr_t)&r.rc, offsetof(struct results, rc));
	kprintf("    rd        %#018lx   %lu\n", (uintptr_t)&r.rd, offsetof(struct results, rd));
	r.ra = vaa, r.rb = vab, r.rc = vac, r.rd = vad;
	demo_pause();
	return r;
}

/* Ten one-byte arguments: six in registers, four on the stack. */
__attribute__((noipa)) static int f3(char c1, char c2, char c3, char c4, char c5, char c6, char c7,
					char c8, char c9, char c10)
{
	uintptr_t *fp = __builtin_frame_address(0);
	kprintf("\n  f3(c1, ..., c10 char): six in registers (rdi, rsi, rdx, rcx, r8, r9),\n"
		"  the rest pushed by the caller, right to left, each in a slot of its own:\n");
	kprintf("    return address at %#018lx\n", (uintptr_t)(fp + 1));
	/* The slots the caller filled: from the return address up (read
	 * through the frame pointer; &c7 would be a copy, see below). */
	for (int i = 0; i < 4; i++) {
		volatile const uint64_t *slot = (volatile const uint64_t *)(fp + 2 + i);
		kprintf("    c%-2d slot %#018lx  return address + %2lu  holds %#018lx\n", 7 + i,
			(uintptr_t)slot, (uintptr_t)slot - (uintptr_t)(fp + 1), *slot);
	}
	kprintf("    four 1-byte arguments on the stack take %lu bytes; the caller frees them\n",
		(uintptr_t)(fp + 6) - (uintptr_t)(fp + 2));
	kprintf("    (&c7 is %#lx: gcc copies a char argument whose address\n"
		"    is taken)\n",
		(uintptr_t)&c7);
	(void)&c8, (void)&c9, (void)&c10;
	demo_pause();
	return c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10;
}

static uint64_t layout_main(uint64_t unused)
{
	(void)unused;
	demo_print_task_stack();
	struct args a = { 1, 2, 3, 4 };
	struct args r = f1(a);
	struct results q = f2(1, 2, 3, 4);
	int sum = f3(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
	char got[32];
	ksnprintf(got, sizeof got, "%d %ld %d %d", q.ra + r.a, (long)q.rb, q.rc, q.rd); /* r.a is 0 */
	demo_compare("f2's results", "1 2 3 4", got);
	ksnprintf(got, sizeof got, "%d", sum);
	demo_compare("f3's sum", "55", got);
	return 0;
}

void cmd_layout(int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const go[] = {
		"type args struct { a int8; b int64; c int32; d int16 }",
		"func f1(a args) (r args) {",
		"    println(&r.d, &r.c, &r.b, &r.a, &a.d, &a.c, &a.b, &a.a) }",
		"func f2(aa int8, ab int64, ac int32, ad int16)",
		"        (ra int8, rb int64, rc int32, rd int16) {",
		"    println(&rd, &rc, &rb, &ra, &ad, &ac, &ab, &aa) }",
		NULL,
	};
	kprintf("layout: arguments and results laid out like the fields of a struct\n");
	demo_go_source(go);
	kprintf("Go 1.19 printed (the notes), as offsets from a.a (0xc000034758) and r.a\n"
		"(0xc000034730):\n"
		"  f1: a.a +0  a.b +8  a.c +16  a.d +20     r.a +0  r.b +8  r.c +16  r.d +20\n"
		"  f2: aa  +0  ab  +8  ac  +16  ad  +20     ra +9  rd +10  rc +12  rb +16\n"
		"Arguments are laid out like struct fields, each aligned to its size. f2's\n"
		"results came back in registers (Go 1.17's ABI) and were spilled where\n"
		"the compiler packed them, smallest first.\n");
	int matched = demo_run("layout", layout_main, "layout", NULL);
	if (matched >= 0)
		kprintf("layout: %d of 2 as expected\n", matched);
}
