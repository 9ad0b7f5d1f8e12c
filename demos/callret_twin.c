/*
 * callret_twin.c: the C twins of the call-and-return programs of
 * docs/go-semantics.md ("Call and return, one instruction at a time"),
 * run by the `callret` demo under the CPU's single-step trap.
 *
 * Built with -O0 (the Makefile says so for this file alone), as Go's
 * listings in the notes are built with -N -l: every local lives in the
 * frame and every step of the call is an instruction of its own. The
 * listing the demo prints beside each step is this file's object code,
 * disassembled by objdump at build time (tools/listing.py).
 *
 *   func A() { a, b := 1, 2; B(a, b); return }
 *   func B(c, d int) { println(c, d); return }
 *
 *   func A2() { var a1, a2, r1, r2 int64; a1, a2 = 1, 2
 *               r1, r2 = B2(a1, a2); r1 = C(a1); println(r1, r2) }
 *   func B2(p1, p2 int64) (int64, int64) { return p2, p1 }
 *   func C(p1 int64) int64 { return p1 }
 *
 * println is left out of the twins (it would be thousands of steps): B
 * stores what it would print in callret_seen, which the demo prints.
 */
#include "callret.h"

volatile int64_t callret_seen[4];

void callret_B(int64_t c, int64_t d)
{
	callret_seen[0] = c;
	callret_seen[1] = d;
}

void callret_A(void)
{
	int64_t a = 1, b = 2;
	callret_B(a, b);
}

struct callret_pair callret_B2(int64_t p1, int64_t p2)
{
	struct callret_pair r = { p2, p1 };
	return r;
}

int64_t callret_C(int64_t p1)
{
	return p1;
}

void callret_A2(void)
{
	int64_t a1, a2, r1, r2;
	a1 = 1, a2 = 2;
	struct callret_pair r = callret_B2(a1, a2);
	r1 = r.r1, r2 = r.r2;
	r1 = callret_C(a1);
	callret_seen[2] = r1;
	callret_seen[3] = r2;
}

/*
 * The notes' first picture: "push 3", "push 4", each moving SP down a
 * word; then Go's way, the whole frame at once (SP moved to the lowest
 * slot, 3 stored at SP+16 and 4 at SP+8). Both give the stack back.
 */
void callret_pushes(void)
{
	__asm__ volatile("push $3\n\t"
			 "push $4\n\t"
			 "add $16, %%rsp\n\t"
			 "sub $24, %%rsp\n\t"
			 "movq $3, 16(%%rsp)\n\t"
			 "movq $4, 8(%%rsp)\n\t"
			 "add $24, %%rsp" ::: "memory");
}
