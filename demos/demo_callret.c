/*
 * demo_callret.c: the `callret` demo: a call and its return, one
 * instruction at a time, on the real CPU (docs/go-semantics.md, "Call and
 * return, one instruction at a time").
 *
 * The twins (callret_twin.c) run with RFLAGS.TF set: the CPU raises a
 * debug trap (#DB, vector 1) after every instruction, and the step hook
 * below records where it stopped: RIP, RSP, RBP, the argument and result
 * registers, and the stack words from RSP up to the top of the trace.
 * Nothing is printed while stepping; the steps are drawn afterwards, each
 * with the text of the instruction that ran (objdump's, from the build:
 * callret_listing.c).
 *
 *   driver           pushfq; or TF; popfq; call *fn      TF on: traps start
 *   #DB after each   step_hook: record, leave TF set       (IST_FAULT stack:
 *   instruction of                                          the task's stack
 *   the twins                                               is not touched)
 *   ret to driver    step_hook: RIP is outside the twins: record, clear TF
 *
 * Invariants: the twins use a few hundred bytes of a fresh task's stack and
 * run with interrupts off, so no growth and no move-stress tick moves the
 * stack under a trace; the step hook writes only this file's globals.
 */
#include "callret.h"
#include "demo.h"
#include "kernel.h"
#include "shell.h"
#include "trap.h"
#include "x86.h"

#include "rt.h"

#define RFLAGS_TF 0x100UL
#define STEPS_MAX 160
#define WORDS_MAX 16

struct step {
	uint64_t rip, rsp, rbp, rax, rdx, rdi, rsi;
	uint64_t word[WORDS_MAX]; /* [rsp, rsp + 8 * WORDS_MAX) up to trace_top */
};

static struct step steps[STEPS_MAX];
static unsigned nsteps;
static bool stepping, overflowed;
static uintptr_t trace_top; /* the driver's stack pointer before its call: the words drawn end here */

/* The listing row of the instruction at rip, or NULL if rip is not in a twin. */
static const struct callret_insn *insn_at(uint64_t rip)
{
	for (unsigned i = 0; i < callret_listing_n; i++) {
		const struct callret_insn *in = &callret_listing[i];
		if (rip == (uintptr_t)in->fn + in->off)
			return in;
	}
	return NULL;
}

/* The #DB hook: records one stop; off once the trace has left the twins. */
static bool step_hook(struct trapframe *tf)
{
	if (!stepping || !(tf->rflags & RFLAGS_TF))
		return false;
	if (nsteps < STEPS_MAX) {
		struct step *s = &steps[nsteps++];
		*s = (struct step){ tf->rip, tf->rsp, tf->rbp, tf->rax, tf->rdx, tf->rdi, tf->rsi, { 0 } };
		for (unsigned i = 0; i < WORDS_MAX && tf->rsp + 8 * i < trace_top; i++)
			s->word[i] = ((const uint64_t *)tf->rsp)[i];
	} else {
		overflowed = true;
	}
	if (!insn_at(tf->rip) || overflowed) { /* back in the driver: the trace is over */
		tf->rflags &= ~RFLAGS_TF;
		stepping = false;
	}
	return true;
}

/* Runs fn with the trap flag set from its first instruction to its return
 * (not inlined: its name is where the traces return to). */
__attribute__((noinline)) static void traced_call(void (*fn)(void))
{
	uintptr_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	nsteps = 0;
	overflowed = false;
	trace_top = sp;
	stepping = true;
	/* popfq sets TF; the CPU traps after the instruction that follows it,
	 * the call: the first stop is at fn's first instruction. */
	__asm__ volatile("pushfq\n\t"
			 "orq %[tf], (%%rsp)\n\t"
			 "popfq\n\t"
			 "call *%[fn]"
			 : [fn] "+r"(fn)
			 : [tf] "i"(RFLAGS_TF)
			 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	stepping = false;
}

/* What a word of the picture is, as far as the trace can tell: a return
 * address (it names a place in the kernel's code), or a saved RBP (some
 * step of the trace had RBP pointing at it: a frame record's first word). */
static void describe(uint64_t addr, uint64_t v, char *buf, size_t cap)
{
	char sym[40];
	buf[0] = 0;
	if (v >= 0xffffffff80000000UL && symbolize(v, sym, sizeof sym)) {
		ksnprintf(buf, cap, "ret to %s", sym);
		return;
	}
	for (unsigned j = 0; j < nsteps; j++)
		if (steps[j].rbp == addr) {
			const struct callret_insn *in = insn_at(steps[j].rip);
			ksnprintf(buf, cap, "saved RBP (%s)", in ? in->fn_name : "the caller");
			return;
		}
}

static const char *mark(bool changed)
{
	if (!changed)
		return " ";
	return demo_color ? "\033[1;33m*\033[0m" : "*";
}

/*
 * Draws step i: the instruction that ran (at steps[i - 1].rip), the
 * registers after it, and the words from RSP up to RBP + 16 (the frame
 * and its link: the saved RBP and the return address), or up to the top
 * of the trace. A * marks what the instruction changed (on RIP: a jump,
 * not the next instruction).
 *
 *   step 10  callret_A+0x26       call callret_B
 *     RIP ffffffff8000f19d* RSP ffffc0004000fdb8*(-8)   RBP ffffc0004000fdd0
 *       ffffc0004000fdc0: 0000000000000002
 *       ffffc0004000fdb8: ffffffff8000f1f1* ret to callret_A+0x2b <-RSP
 */
static void draw_step(unsigned i)
{
	const struct step *s = &steps[i], *p = &steps[i - 1];
	const struct callret_insn *in = insn_at(p->rip);
	char where[40], delta[12] = "", regs[80] = "";
	ksnprintf(where, sizeof where, "%s+%#x", in ? in->fn_name : "?", in ? in->off : 0);
	if (s->rsp != p->rsp)
		ksnprintf(delta, sizeof delta, "(%c%lu)", s->rsp < p->rsp ? '-' : '+',
			  s->rsp < p->rsp ? p->rsp - s->rsp : s->rsp - p->rsp);
	int n = 0;
	static const char *const names[] = { "rax", "rdx", "rdi", "rsi" };
	const uint64_t now[] = { s->rax, s->rdx, s->rdi, s->rsi }, was[] = { p->rax, p->rdx, p->rdi, p->rsi };
	for (int r = 0; r < 4; r++)
		if (now[r] != was[r])
			n += ksnprintf(regs + n, sizeof regs - (size_t)n, " %s=%#lx", names[r], now[r]);
	kprintf("  step %2u  %-20s %s\n", i, where, in ? in->text : "?");
	kprintf("    RIP %016lx%s RSP %016lx%s%-6s RBP %016lx%s\n", s->rip,
		mark(s->rip != p->rip + (in ? in->len : 0)), s->rsp, mark(s->rsp != p->rsp), delta,
		s->rbp, mark(s->rbp != p->rbp));
	if (n)
		kprintf("   %s\n", regs);
	uintptr_t hi = s->rbp >= s->rsp && s->rbp + 16 <= trace_top ? s->rbp + 16 : trace_top;
	for (uintptr_t a = hi - 8; a >= s->rsp && a < hi; a -= 8) {
		unsigned k = (unsigned)((a - s->rsp) / 8);
		if (k >= WORDS_MAX)
			continue;
		uint64_t v = s->word[k];
		bool was_there = a >= p->rsp && (a - p->rsp) / 8 < WORDS_MAX;
		bool changed = !was_there || p->word[(a - p->rsp) / 8] != v;
		char what[25]; /* 24 characters and the end */
		describe(a, v, what, sizeof what);
		kprintf("      %016lx: %016lx%s %-24s%s%s\n", a, v, mark(changed), what,
			a == s->rsp ? " <-RSP" : "", a == s->rbp ? " <-RBP" : "");
	}
	demo_pause();
}

/* Traces fn and draws every step; returns how many instructions ran. */
static unsigned trace_and_draw(void (*fn)(void), const char *title)
{
	traced_call(fn);
	kprintf("\n  %s\n", title);
	char back[48];
	if (nsteps < 2 || overflowed) {
		kprintf("  callret: the trace %s; nothing to draw\n",
			overflowed ? "ran over its room for steps" : "did not start (no #DB arrived)");
		return 0;
	}
	kprintf("  called   %s\n    RIP %016lx  RSP %016lx        RBP %016lx\n",
		insn_at(steps[0].rip)->fn_name, steps[0].rip, steps[0].rsp, steps[0].rbp);
	for (unsigned i = 1; i < nsteps; i++)
		draw_step(i);
	symbolize(steps[nsteps - 1].rip, back, sizeof back);
	kprintf("  returned to %s: %u instructions ran, a trap after each\n", back, nsteps - 1);
	return nsteps - 1;
}

/* The per-function count of the last trace, for the summary. */
static void count_by_function(void)
{
	const char *names[8];
	unsigned counts[8], k = 0;
	for (unsigned i = 0; i + 1 < nsteps; i++) {
		const struct callret_insn *in = insn_at(steps[i].rip);
		if (!in)
			continue;
		unsigned j = 0;
		while (j < k && strcmp(names[j], in->fn_name) != 0)
			j++;
		if (j == k && k < 8) {
			names[k] = in->fn_name;
			counts[k++] = 0;
		}
		if (j < k)
			counts[j]++;
	}
	kprintf("  instructions by function:");
	for (unsigned j = 0; j < k; j++)
		kprintf(" %s %u%s", names[j], counts[j], j + 1 < k ? "," : "\n");
}

static uint64_t callret_main(uint64_t part)
{
	uint64_t flags = read_rflags();
	cli();
	unsigned total = 0;
	demo_print_task_stack();
	if (part == 0 || part == 1) {
		kprintf("\n  push 3 / push 4, then Go's way: the frame at once, values at SP+16, SP+8\n");
		total += trace_and_draw(callret_pushes, "callret_pushes: each push moves RSP down a word");
	}
	if (part == 0 || part == 2) {
		callret_seen[0] = callret_seen[1] = 0;
		total += trace_and_draw(callret_A, "A calls B(1, 2): call pushes the return address and "
						   "jumps;\n  the prologue builds B's frame; leave and ret "
						   "take it down");
		count_by_function();
		char got[24];
		ksnprintf(got, sizeof got, "%ld %ld", (long)callret_seen[0], (long)callret_seen[1]);
		demo_compare("B(a, b)", "1 2", got);
	}
	if (part == 0 || part == 3) {
		kprintf("\n  Go (ABI0, the notes' picture): A2 reserves, once, below its locals, the\n"
			"  slots of the calls it makes; B2 finds them above its return address:\n"
			"      a1  a2  r1  r2         A2's locals\n"
			"      B2's result 2          \\\n"
			"      B2's result 1           | reserved by A2 in its own frame\n"
			"      B2's argument 2 (a2)    | (C(a1) reuses the lowest two:\n"
			"      B2's argument 1 (a1)   /   its argument, then its result)\n"
			"      <- SP of A2; below it, B2's return address, then B2's frame\n");
		kprintf("  In C nothing is reserved: a1, a2 go in rdi, rsi; B2's two results\n"
			"  come back in rax and rdx, C's one in rax (watch them below).\n");
		callret_seen[2] = callret_seen[3] = 0;
		total += trace_and_draw(callret_A2, "A2 calls B2 (two results: rax and rdx), then C (one: rax)");
		count_by_function();
		char got[24];
		ksnprintf(got, sizeof got, "%ld %ld", (long)callret_seen[2], (long)callret_seen[3]);
		demo_compare("A2's println", "1 1", got);
	}
	if (flags & 0x200)
		sti();
	return total;
}

static uint64_t callret_part;
static uint64_t callret_task(uint64_t unused)
{
	(void)unused;
	return callret_main(callret_part);
}

void cmd_callret(int argc, char **argv)
{
	static const char *const parts[] = { "all", "push", "ab", "results" };
	callret_part = 4;
	for (uint64_t i = 0; i < 4; i++)
		if (argc == 1 ? i == 0 : argc == 2 && strcmp(argv[1], parts[i]) == 0)
			callret_part = i;
	if (callret_part == 4) {
		kprintf("callret: usage: callret [push|ab|results] (all three by default)\n");
		return;
	}
	static const char *const go[] = {
		"func A() { a, b := 1, 2; B(a, b); return }",
		"func B(c, d int) { println(c, d); return }",
		"func A2() { var a1, a2, r1, r2 int64; a1, a2 = 1, 2",
		"            r1, r2 = B2(a1, a2); r1 = C(a1); println(r1, r2) }",
		"func B2(p1, p2 int64) (int64, int64) { return p2, p1 }",
		"func C(p1 int64) int64 { return p1 }",
		NULL,
	};
	kprintf("callret: a call and its return, one instruction at a time (the CPU's trap flag)\n");
	demo_go_source(go);
	kprintf("Go (ABI0, as the notes draw it) gives each function its whole frame at once:\n"
		"A's frame holds its locals, then the results and arguments of the calls it\n"
		"makes (B2's two results and two arguments; C reuses the lowest slots), so a\n"
		"callee finds them at fixed offsets from its SP.\n");
	kprintf("B's prologue is SUBQ $24, SP; MOVQ BP, 16(SP); LEAQ 16(SP), BP, its\n"
		"epilogue MOVQ 16(SP), BP; ADDQ $24, SP.\n");
	kprintf("C (System V, what runs here) passes arguments in rdi, rsi, ... and results in\n"
		"rax (and rdx for a second word); the prologue is push %%rbp; mov %%rsp,%%rbp;\n"
		"sub $N,%%rsp, the epilogue leave; ret.\n");
	kprintf("The listing is objdump's, of the twins built with -O0 (every local in the\n"
		"frame, like Go's -N -l).\n");
	uint64_t ran = 0;
	trap_set_step_hook(step_hook);
	int matched = demo_run("callret", callret_task, "callret", &ran);
	if (matched < 0)
		return;
	int compared = callret_part == 0 ? 2 : callret_part == 1 ? 0 : 1;
	kprintf("callret: %d of %d match Go; %lu instructions stepped\n", matched, compared, ran);
}
