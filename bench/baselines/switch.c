/* switch.c: the `switch` benchmark for three C coroutine libraries.
 *
 * Two coroutines ping-pong: the main context transfers control to a
 * coroutine, which counts and transfers straight back.  One round trip is
 * two switches; a result is nanoseconds per switch.  After every round
 * trip the main context checks that the coroutine ran exactly once more,
 * so no switch can be skipped or merged.
 *
 *   fcontext     Boost.Context's jump_fcontext: saves callee-saved
 *                registers on the stack, swaps stack pointers; no syscall.
 *   swapcontext  glibc ucontext: also saves and restores the signal mask,
 *                one rt_sigprocmask system call per switch.
 *   pcl          libpcl co_call/co_resume, built on ucontext in Debian.
 */
#define _GNU_SOURCE
#include <pcl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include "measure.h"

#define COROUTINE_STACK (64 * 1024)

/* Boost.Context's assembly entry points, declared extern "C" in
 * boost/context/detail/fcontext.hpp (Boost 1.74); a transfer_t of two
 * pointers is returned in rax:rdx by the System V ABI, as in C++. */
typedef void *fcontext_t;
typedef struct {
	fcontext_t fctx;
	void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

static char *coroutine_stack;

/* ---- fcontext ---- */

/* Counts one run per transfer and hands control back to whoever jumped
 * here.  Never returns: the benchmark abandons the context when done. */
static void fcontext_body(transfer_t t)
{
	uint64_t *count = t.data;

	for (;;) {
		(*count)++;
		t = jump_fcontext(t.fctx, count);
	}
}

static uint64_t fcontext_pingpong(void *arg, uint64_t n)
{
	uint64_t count = 0;
	transfer_t t;

	(void)arg;
	t.fctx = make_fcontext(coroutine_stack + COROUTINE_STACK, COROUTINE_STACK,
			       fcontext_body);
	for (uint64_t i = 0; i < n; i++) {
		t = jump_fcontext(t.fctx, &count);
		if (count != i + 1)
			bench_fail("switch fcontext", "coroutine did not run once per round trip");
	}
	return count;
}

/* ---- swapcontext ---- */

static ucontext_t main_uc, coroutine_uc;
static uint64_t uc_count;

static void ucontext_body(void)
{
	for (;;) {
		uc_count++;
		swapcontext(&coroutine_uc, &main_uc);
	}
}

static uint64_t swapcontext_pingpong(void *arg, uint64_t n)
{
	(void)arg;
	uc_count = 0;
	getcontext(&coroutine_uc);
	coroutine_uc.uc_stack.ss_sp = coroutine_stack;
	coroutine_uc.uc_stack.ss_size = COROUTINE_STACK;
	coroutine_uc.uc_link = NULL;
	makecontext(&coroutine_uc, ucontext_body, 0);
	for (uint64_t i = 0; i < n; i++) {
		swapcontext(&main_uc, &coroutine_uc);
		if (uc_count != i + 1)
			bench_fail("switch swapcontext", "coroutine did not run once per round trip");
	}
	return uc_count;
}

/* ---- pcl ---- */

static void pcl_body(void *data)
{
	uint64_t *count = data;

	for (;;) {
		(*count)++;
		co_resume();
	}
}

static uint64_t pcl_pingpong(void *arg, uint64_t n)
{
	uint64_t count = 0;
	coroutine_t co;

	(void)arg;
	co = co_create(pcl_body, &count, coroutine_stack, COROUTINE_STACK);
	if (co == NULL)
		bench_fail("switch pcl", "co_create failed");
	for (uint64_t i = 0; i < n; i++) {
		co_call(co);
		if (count != i + 1)
			bench_fail("switch pcl", "coroutine did not run once per round trip");
	}
	co_delete(co);
	return count;
}

/* Runs one implementation and prints its BENCH line: a body's unit of
 * work is one round trip, that is two switches. */
static void measure(const char *impl, bench_body body)
{
	uint64_t checksum;
	double ns = best_ns_per_op(body, NULL, &checksum);

	bench_line("switch", impl, ns / 2, "ns/switch");
	fprintf(stderr, "switch %s: checksum %llu round trips in the last run\n",
		impl, (unsigned long long)checksum);
}

int main(void)
{
	coroutine_stack = mmap(NULL, COROUTINE_STACK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (coroutine_stack == MAP_FAILED)
		bench_fail("switch", "cannot map a coroutine stack");
	if (co_thread_init() != 0)
		bench_fail("switch pcl", "co_thread_init failed");
	measure("fcontext", fcontext_pingpong);
	measure("swapcontext", swapcontext_pingpong);
	measure("pcl", pcl_pingpong);
	return 0;
}
