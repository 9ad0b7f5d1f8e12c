/*
 * demo_closure.c: the `closure` demo (docs/go-semantics.md section 4). A Go
 * function value is a pointer to a funcval {code, captured variables}; the
 * caller passes it in DX. Here a closure is a trampoline (an ordinary C
 * function pointer) whose data slot holds {environment, code}; the
 * trampoline loads the environment into %r10. The counter generator's x
 * outlives counter(), so it lives in the heap, as Go's "moved to heap".
 */
#include "demo.h"
#include "kernel.h"
#include "shell.h"

#include "closure.h"
#include "heap.h"
#include "twins.h"

/* The record behind a closure, drawn as Go's funcval would be. */
static void show_record(const char *name, void *f)
{
	void *code = rt_closure_code(f);
	uint64_t **env = rt_closure_env(f);
	char sym[48];
	symbolize((uint64_t)code, sym, sizeof sym);
	kprintf("  %s = %#lx: a trampoline (code page, read-only + executable)\n", name, (uintptr_t)f);
	kprintf("    its slot, %#lx (data page, read/write):\n", (uintptr_t)f + 4096);
	kprintf("      code = %#lx <%s>\n", (uintptr_t)code, sym);
	kprintf("      env  = %#lx (heap)\n", (uintptr_t)env);
	kprintf("    env: x = %#lx: x moved to heap; *x = %lu\n", (uintptr_t)env[0], *env[0]);
}

void cmd_closure(int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const go[] = {
		"func counter() func() int { x := 0; return func() int { x++; return x } }",
		"f := counter(); println(f(), f(), f())  // 1 2 3",
		"g := counter(); println(g())            // 1",
		"x := 0",
		"inc := func() { x++ }; get := func() int { return x }",
		"inc(); inc(); println(get())            // 2",
		NULL,
	};
	kprintf("closure: code plus the variables it captures\n");
	demo_go_source(go);
	uint64_t (*f)(void) = (uint64_t (*)(void))twin_counter_new();
	uint64_t (*g)(void) = (uint64_t (*)(void))twin_counter_new();
	uint64_t *x = rt_alloc(sizeof *x);
	void (*inc)(void) = x ? (void (*)(void))rt_closure_new(shared_inc, x) : NULL;
	uint64_t (*get)(void) = x ? (uint64_t (*)(void))rt_closure_new(shared_get, x) : NULL;
	if (!f || !g || !inc || !get) {
		kprintf("closure: out of memory: could not make %s%s%s%s (a trampoline or a heap "
			"cell); no verdict about Go\n", f ? "" : "f ", g ? "" : "g ", inc ? "" : "inc ",
			get ? "" : "get");
		twin_counter_free((void *)f);
		twin_counter_free((void *)g);
		rt_closure_free((void *)inc);
		rt_closure_free((void *)get);
		rt_free(x);
		return;
	}
	char got[24];
	uint64_t f1 = f(), f2 = f(), f3 = f();
	ksnprintf(got, sizeof got, "%lu %lu %lu", f1, f2, f3);
	int matched = demo_compare("f() f() f()", "1 2 3", got);
	ksnprintf(got, sizeof got, "%lu", g());
	matched += demo_compare("g()", "1", got);
	inc();
	inc();
	ksnprintf(got, sizeof got, "%lu", get());
	matched += demo_compare("inc; inc; get", "2", got);
	kprintf("\n");
	show_record("f", (void *)f);
	show_record("g", (void *)g);
	kprintf("  inc = %#lx, get = %#lx: two trampolines\n", (uintptr_t)inc, (uintptr_t)get);
	kprintf("    envs %#lx and %#lx: one x, shared\n", (uintptr_t)rt_closure_env((void *)inc),
		(uintptr_t)rt_closure_env((void *)get));
	kprintf("  calling f: f's trampoline loads env into %%r10, jumps to the code, which\n"
		"  finds x through it (Go passes the funcval in DX the same way)\n");
	twin_counter_free((void *)f);
	twin_counter_free((void *)g);
	rt_closure_free((void *)inc);
	rt_closure_free((void *)get);
	rt_free(x);
	kprintf("closure: %d of 3 match Go\n", matched);
}
