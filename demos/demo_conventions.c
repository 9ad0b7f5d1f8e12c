/*
 * demo_conventions.c: the `conventions` demo: C's way of calling and Go's
 * (docs/go-semantics.md section 9), shown on live calls.
 *
 *   1. A variadic call, sum(10, 1, 2, ..., 10): where each argument was
 *      found, through the va_list: the register save area (the six
 *      argument registers, spilled by the callee's prologue) and the
 *      overflow area (the caller's stack, right above the return address,
 *      the last argument highest: pushed right to left, and freed by the
 *      caller after the call). That order is what lets a variadic function
 *      find its fixed arguments first.
 *   2. Two results: C returns them in rax and rdx, read here by the very
 *      instruction after the call; Go's ABI0 returns them in slots the
 *      caller reserved on its stack, Go 1.17's register ABI in AX, BX.
 *   3. A closure's context register: the trampoline loads the environment
 *      into %r10 (Go uses DX); the code's entry reads it there.
 */
#include <stdarg.h>

#include "closure.h"
#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "rt.h"

static const char *const gp_regs[] = { "rdi", "rsi", "rdx", "rcx", "r8", "r9" };

/* func sum(n int, xs ...int) int, C's way: the count first, then n longs. */
__attribute__((noipa)) static long conv_sum(int n, ...)
{
	va_list ap;
	va_start(ap, n);
	uintptr_t *fp = __builtin_frame_address(0);
	kprintf("  va_list after va_start: gp_offset %u (the next register slot),\n"
		"    reg_save_area %#018lx, overflow_arg_area %#018lx\n", ap[0].gp_offset,
		(uintptr_t)ap[0].reg_save_area, (uintptr_t)ap[0].overflow_arg_area);
	kprintf("  sum's return address is at %#018lx\n", (uintptr_t)(fp + 1));
	long total = 0;
	for (int i = 0; i < n; i++) {
		uintptr_t at;
		const char *from;
		if (ap[0].gp_offset < 48) {
			at = (uintptr_t)ap[0].reg_save_area + ap[0].gp_offset;
			from = gp_regs[ap[0].gp_offset / 8];
		} else {
			at = (uintptr_t)ap[0].overflow_arg_area;
			from = "stack";
		}
		long v = va_arg(ap, long);
		kprintf("    xs[%d] = %2ld  read at %#018lx  (%s)\n", i, v, at, from);
		total += v;
	}
	va_end(ap);
	kprintf("  the stack ones: xs[5] right above the return address, xs[9] highest:\n"
		"  the caller pushed them right to left, and takes them off after the call\n");
	return total;
}

struct conv_pair {
	int64_t first, second;
};

__attribute__((noipa)) struct conv_pair conv_two(int64_t a, int64_t b)
{
	return (struct conv_pair){ b, a };
}

/* A closure body, and its entry: the entry records %r10 as it arrives
 * from the trampoline, then does what RT_CLOSURE_CODE's entry does. */
static volatile uint64_t conv_r10_seen;
__attribute__((used, noipa)) uint64_t conv_closure_body(void *env, uint64_t x)
{
	return *(uint64_t *)env + x;
}
extern char conv_closure[];
__asm__(".text\n\t.p2align 4\n\t.globl conv_closure\n\t.type conv_closure, @function\n"
	"conv_closure:\n\t"
	"endbr64\n\t"
	"movq %r10, conv_r10_seen(%rip)\n\t"
	"mov %r8, %r9\n\tmov %rcx, %r8\n\tmov %rdx, %rcx\n\t"
	"mov %rsi, %rdx\n\tmov %rdi, %rsi\n\tmov %r10, %rdi\n\t"
	"jmp conv_closure_body\n\t"
	".size conv_closure, . - conv_closure\n\t.previous");

static uint64_t conventions_main(uint64_t unused)
{
	(void)unused;
	demo_print_task_stack();

	kprintf("\n  1. sum(10, 1, 2, ..., 10): n in edi, five more in registers, the rest on\n"
		"  the stack; the callee's prologue spills the registers into its frame\n");
	long s = conv_sum(10, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
	char got[40];
	ksnprintf(got, sizeof got, "%ld", s);
	demo_compare("sum(1..10)", "55", got);
	demo_pause();

	kprintf("\n  2. two results: C returns them in rax and rdx\n");
	uint64_t rax, rdx;
	__asm__ volatile("call conv_two"
			 : "=a"(rax), "=d"(rdx)
			 : "D"(1L), "S"(2L)
			 : "rcx", "r8", "r9", "r10", "r11", "memory", "cc");
	kprintf("    after call conv_two(1, 2): rax = %lu, rdx = %lu\n", rax, rdx);
	ksnprintf(got, sizeof got, "%lu %lu", rax, rdx);
	demo_compare("swap2(1, 2)", "2 1", got);
	demo_pause();

	kprintf("\n  3. a closure's context register\n");
	static uint64_t base = 40;
	uint64_t (*add)(uint64_t) = rt_closure_new(conv_closure, &base);
	if (!add) {
		kprintf("    no closure could be made (the trampoline pool is full)\n");
		return 0;
	}
	conv_r10_seen = 0;
	uint64_t r = add(2);
	kprintf("    add(2) through a plain function pointer: %lu\n", r);
	kprintf("    the trampoline at %#lx put %#lx in r10;\n"
		"    the closure's environment is %#lx (&base)\n", (uintptr_t)add, conv_r10_seen,
		(uintptr_t)rt_closure_env(add));
	ksnprintf(got, sizeof got, "%lu", r);
	demo_compare("add(2)", "42", got);
	rt_closure_free(add);
	return 0;
}

void cmd_conventions(int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const go[] = {
		"func sum(xs ...int) int {",
		"    t := 0; for _, x := range xs { t += x }; return t }",
		"func swap2(a, b int) (int, int) { return b, a }",
		"base := 40; add := func(x int) int { return base + x }",
		"println(sum(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)) // 55",
		"println(swap2(1, 2))                        // 2 1",
		"println(add(2))                             // 42",
		NULL,
	};
	kprintf("conventions: how C calls, and how Go does\n");
	demo_go_source(go);
	kprintf("C (System V): integer arguments in rdi, rsi, rdx, rcx, r8, r9, the rest on\n"
		"the stack, pushed right to left so the first is nearest the callee; the\n"
		"caller removes them. One result in rax (two words: rax, rdx).\n");
	kprintf("Go's ABI0 (before 1.17): every argument and result in slots the caller\n"
		"reserves at the bottom of its frame; a variadic call passes one slice.\n"
		"Go 1.17's register ABI: arguments and results in AX, BX, CX, DI, SI, R8...\n"
		"A closure's context arrives in DX (here: r10).\n");
	int matched = demo_run("conventions", conventions_main, "conventions", NULL);
	if (matched >= 0)
		kprintf("conventions: %d of 3 match Go\n", matched);
}
