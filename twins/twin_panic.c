/*
 * twin_panic.c: panic and recover programs, in C on the runtime's defer and
 * panic (Go's rules: docs/go-semantics.md, and the Go spec's "Handling panics").
 * Each entry fills a struct twin_panic with what happened.
 */
#include "twins.h"

#include "defer.h"
#include "panic.h"

/* level() ends only by panicking, which GCC reports as infinite recursion. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"

/*
 * The record each program fills (struct twin_panic, usually in the
 * caller's stack) reaches the deferred calls as an argument, which the
 * stack mover adjusts with the defer records, never through a global,
 * which it would not: a stack move would leave a global pointing into the
 * old stack (the move-stress switch showed it).
 */

/* func() { recovered = recover() }; noinline: recover must be called by the deferred function itself */
__attribute__((noinline)) static void recoverer(struct twin_panic *out)
{
	out->recovered = rt_recover();
}

/* Each frame's deferred call: they must run innermost first, 0, 1, 2, ... */
static void deferred_at(uint64_t depth, struct twin_panic *out)
{
	if (depth != (uint64_t)out->deferred_ran)
		out->in_order = 0;
	out->deferred_ran++;
}

RT_DEFERS static uint64_t level(uint64_t n, struct twin_panic *out)
{
	twin_must(rt_defer((void *)deferred_at, 2, n, (uint64_t)out) == 0, TWIN_OOM ": cannot defer");
	if (n == 0)
		rt_panic("deep trouble");
	level(n - 1, out);
	RT_RETURN(0);
}

/*
 * func top() (r int) {
 *     r = 7
 *     defer func() { recovered = recover() }()
 *     level(99)       // each of 100 frames defers; the innermost panics
 *     return 1
 * }                   // recovered "deep trouble", top returns 7
 */
RT_DEFERS uint64_t twin_panic_deep(struct twin_panic *o)
{
	uint64_t r = 7;
	*o = (struct twin_panic){ .in_order = 1 };
	twin_must(rt_defer_result(&r) == 0, TWIN_OOM ": cannot defer");
	RT_RECOVER_RETURNS(r);
	twin_must(rt_defer((void *)recoverer, 1, (uint64_t)o) == 0, TWIN_OOM ": cannot defer");
	level(99, o);
	r = 1;
	RT_RETURN(r);
}

/*
 * func nilField(p *T) (r int) { r = 5; defer func() { recovered = recover() }(); return p.f }
 * nilField(nil): recovered "runtime error: invalid memory address or nil
 * pointer dereference", returns 5
 */
RT_DEFERS uint64_t twin_panic_nil(struct twin_panic *o, uint64_t p)
{
	uint64_t r = 5;
	*o = (struct twin_panic){ .in_order = 1 };
	twin_must(rt_defer_result(&r) == 0, TWIN_OOM ": cannot defer");
	RT_RECOVER_RETURNS(r);
	twin_must(rt_defer((void *)recoverer, 1, (uint64_t)o) == 0, TWIN_OOM ": cannot defer");
	r = *(volatile uint64_t *)(p + 8);
	RT_RETURN(r);
}

/* defer func() { if recover() != nil { panic("second") } }() */
__attribute__((noinline)) static void recover_and_repanic(void)
{
	if (rt_recover())
		rt_panic("second");
}

RT_DEFERS static uint64_t inner(void)
{
	RT_RECOVER_RETURNS(0);
	twin_must(rt_defer((void *)recover_and_repanic, 0) == 0, TWIN_OOM ": cannot defer");
	rt_panic("first");
}

/*
 * func outer() (r int) { r = 11; defer func() { recovered = recover() }(); inner(); return 0 }
 * inner recovers "first" and panics "second"; outer recovers "second" and returns 11
 */
RT_DEFERS uint64_t twin_panic_repanic(struct twin_panic *o)
{
	uint64_t r = 11;
	*o = (struct twin_panic){ .in_order = 1 };
	twin_must(rt_defer_result(&r) == 0, TWIN_OOM ": cannot defer");
	RT_RECOVER_RETURNS(r);
	twin_must(rt_defer((void *)recoverer, 1, (uint64_t)o) == 0, TWIN_OOM ": cannot defer");
	inner();
	r = 0;
	RT_RETURN(r);
}

static void panic_second(void)
{
	rt_panic("second");
}

/*
 * defer func() { panic("second") }(); panic("first")
 * Go prints "panic: first" then "\tpanic: second", and the goroutine dies.
 * A task body (never returns).
 */
RT_DEFERS uint64_t twin_panic_chained(uint64_t unused)
{
	(void)unused;
	twin_must(rt_defer((void *)panic_second, 0) == 0, TWIN_OOM ": cannot defer");
	rt_panic("first");
}
