/*
 * panic.c: panic and recover, after Go's runtime/panic.go (gopanic,
 * gorecover, recovery).
 *
 * rt_panic runs the deferred calls of the panicking task's frames,
 * innermost first, each through rt_defer_call, which records the stack
 * pointer at the call. rt_recover, called directly from such a deferred
 * call (its frame pointer is that stack pointer - 16), marks the panic
 * recovered and returns its message; anywhere else it returns NULL. After
 * the deferred call returns (so recover must be called by the deferred
 * function itself: a helper it calls, or one inlined into it by the
 * compiler, does not count; mark such helpers noinline), a recovered
 * panic resumes the deferring
 * function at its recovery point (RT_RECOVER_RETURNS), which returns to
 * its caller normally; its remaining deferred calls run first, as in Go
 * (from rt_panic's frame, below any memory F made after its recovery
 * point).
 *
 * A panic inside a deferred call during a panic chains to it, and an
 * unrecovered chain is printed oldest first, in Go's words:
 *     panic: first [recovered]
 *             panic: second
 *     goroutine 7 [running]:
 * and only that task dies. The chain lives in the panicking stack (each
 * struct rt_panic in its rt_panic frame); t->panic points at the newest
 * and is adjusted when the stack moves.
 */
#include "panic.h"

#include "defer.h"
#include "internal.h"
#include "heap.h"
#include "platform.h"
#include "rt.h"

#include <stddef.h>

/* panic_switch.S reads and writes struct rt_recovery at these offsets. */
_Static_assert(offsetof(struct rt_recovery, rbp) == 0, "panic_switch.S: rbp at 0");
_Static_assert(offsetof(struct rt_recovery, rbx) == 8, "panic_switch.S: rbx at 8");
_Static_assert(offsetof(struct rt_recovery, r12) == 16, "panic_switch.S: r12 at 16");
_Static_assert(offsetof(struct rt_recovery, r13) == 24, "panic_switch.S: r13 at 24");
_Static_assert(offsetof(struct rt_recovery, r14) == 32, "panic_switch.S: r14 at 32");
_Static_assert(offsetof(struct rt_recovery, r15) == 40, "panic_switch.S: r15 at 40");
_Static_assert(offsetof(struct rt_recovery, rsp) == 48, "panic_switch.S: rsp at 48");
_Static_assert(offsetof(struct rt_recovery, rip) == 56, "panic_switch.S: rip at 56");

#include "format.h"

void rt_defer_call(const void *fn, const uint64_t *args, uintptr_t *sp);
_Noreturn void rt_recovery_resume(const struct rt_recovery *ctx);
_Noreturn void rt_kill_self(const char *reason);

/* Prints the chain oldest first, then the task's frames, as Go does for an unrecovered panic. */
__attribute__((noinline)) static void report(struct rt_task *t, struct rt_panic *newest)
{
	struct rt_panic *chain[16];
	int n = 0;
	for (struct rt_panic *p = newest; p && n < 16; p = p->link)
		chain[n++] = p;
	for (int i = n - 1; i >= 0; i--)
		rt_print("%spanic: %s%s\n", i == n - 1 ? "" : "\t", chain[i]->msg,
			 chain[i]->recovered ? " [recovered]" : "");
	rt_print("\ngoroutine %lu [running]:\n", t->id);
	uintptr_t *fp = __builtin_frame_address(0);
	for (int depth = 0; depth < 24 && fp; depth++) {
		uintptr_t next = fp[0], ret = fp[1];
		char name[96];
		if ((uintptr_t)fp < t->stack_lo || (uintptr_t)fp + 16 > t->stack_hi || !ret)
			break;
		if (ret == (uintptr_t)rt_defer_trampoline)
			ksnprintf(name, sizeof name, "(a deferring function returns here through defer)");
		else if (!plat_symbolize(ret - 1, name, sizeof name))
			ksnprintf(name, sizeof name, "?");
		rt_print("  %s\n", name);
		if (next <= (uintptr_t)fp)
			break;
		fp = (uintptr_t *)next;
	}
}

/*
 * Panics with msg: runs deferred calls, innermost frame first, until one
 * recovers; if none does, prints the chain and kills the task (the other
 * tasks and the shell go on). Outside tasks it is fatal.
 */
_Noreturn void rt_panic(const char *msg)
{
	rt_headroom();
	struct rt_task *t = rt_current();
	if (!t)
		rt_fatal(msg);
	struct rt_panic p = { msg, t->panic, 0, false };
	t->panic = &p;
	struct rt_defer_frame *f;
	const void *fn;
	uint64_t args[RT_DEFER_ARGS];
	while (rt_defer_next(&fn, args)) {
		rt_defer_call(fn, args, &p.call_sp);
		p.call_sp = 0;
		if (!p.recovered)
			continue;
		f = rt_defer_frames; /* the frame whose deferred call recovered */
		/* Panics raised below that frame are over; older ones above it go on. */
		while (t->panic && (uintptr_t)t->panic < f->top.rbp)
			t->panic = t->panic->link;
		if (!f->has_recovery) {
			rt_print("runtime: task %lu recovered a panic in a function without "
				 "RT_RECOVER_RETURNS: it cannot return; the task dies\n", t->id);
			rt_kill_self("recovered without a recovery point");
		}
		/* F's remaining deferred calls run here, below all of F's memory:
		 * F resumes with the %rsp of its recovery point, above memory it
		 * may have made since (alloca), which calls made from there would
		 * overwrite. Plain calls: this panic is over, so a recover in them
		 * returns NULL, as in Go. */
		while (rt_defer_pop(f, &fn, args))
			((rt_call6)fn)(args[0], args[1], args[2], args[3], args[4], args[5]);
		rt_recovery_resume(&f->recovery);
	}
	report(t, &p);
	t->panic = NULL;
	rt_kill_self(msg);
}

/*
 * Stops the current panic and returns its message, if called directly
 * from a deferred call that the panic is running; otherwise NULL.
 */
__attribute__((noinline)) const char *rt_recover(void)
{
	struct rt_task *t = rt_current();
	struct rt_panic *p = t ? t->panic : NULL;
	uintptr_t caller_fp = *(uintptr_t *)__builtin_frame_address(0);
	if (!p || p->recovered || !p->call_sp || caller_fp != p->call_sp - 16)
		return NULL;
	p->recovered = true;
	return p->msg;
}

/* Where a hardware fault in a task continues (see rt_fault): a runtime error panic. */
_Noreturn void rt_sigpanic(const char *msg)
{
	rt_panic(msg);
}
