/*
 * closures.c: the `closures N` command: N counter closures (Go's classic
 * generator) from the trampoline pool, each called through an ordinary C
 * function pointer, then two closures sharing one variable; checks the
 * results, audits the live page tables for writable+executable pages,
 * frees everything and checks the pool is reused.
 */
#include "kernel.h"
#include "shell.h"

#include "closure.h"
#include "heap.h"
#include "twins.h"

#define POOL_SLOTS 262144 /* the trampoline pool's size (runtime/closure.c) */

void cmd_closures(int argc, char **argv)
{
	uint64_t n;
	if (argc != 2 || parse_u64(argv[1], &n) != 0 || n == 0 || n > 300000) {
		kprintf("closures: usage: closures N (1 to 300000; the pool holds 262144)\n");
		return;
	}
	void **fns = rt_alloc(n * sizeof *fns);
	if (!fns) {
		kprintf("closures: out of memory\n");
		return;
	}
	struct rt_closure_stats s0, s1, s2;
	rt_closure_get_stats(&s0);
	uint64_t made = 0, wrong = 0;
	for (; made < n; made++)
		if (!(fns[made] = twin_counter_new()))
			break;
	struct rt_closure_stats sf;
	rt_closure_get_stats(&sf);
	bool full = made < n && sf.live >= POOL_SLOTS, oom = made < n && !full;
	if (oom)
		kprintf("closures: out of memory after %lu of %lu counters (a heap cell or a "
			"trampoline page)\n", made, n);
	if (full) { /* the pool is exhausted: a freed trampoline is the next one handed out */
		void *freed = fns[made / 2];
		twin_counter_free(freed);
		fns[made / 2] = twin_counter_new();
		if (!fns[made / 2]) { /* no heap cell for its x: never call a NULL closure */
			kprintf("closures: out of memory remaking a freed counter\n");
			made--;
			fns[made / 2] = fns[made];
			oom = true;
		}
		kprintf("closures: the pool is full at %lu closures; after freeing one, the next "
			"closure %s\n", made, fns[made / 2] == freed ? "reuses its trampoline" : "DOES NOT");
		full = fns[made / 2] == freed;
	}
	/* Call counter i exactly i % 3 + 1 times: it must count on its own. */
	for (uint64_t i = 0; i < made; i++) {
		uint64_t (*next)(void) = (uint64_t (*)(void))fns[i], v = 0;
		for (uint64_t k = 0; k <= i % 3; k++)
			v = next();
		wrong += v != i % 3 + 1;
	}
	rt_closure_get_stats(&s1);
	kprintf("closures: %lu counters made, %lu counted wrong; %lu trampoline page pairs "
		"(%lu new)\n", made, wrong, s1.pages, s1.pages - s0.pages);
	if (made) {
		char name[96];
		symbolize((uint64_t)rt_closure_code(fns[0]), name, sizeof name);
		kprintf("closures: counter 0 is trampoline %p -> code %p <%s>, environment %p, "
			"x moved to heap at %p\n", fns[0], rt_closure_code(fns[0]), name,
			rt_closure_env(fns[0]), (void *)*(uint64_t **)rt_closure_env(fns[0]));
	}
	uint64_t wx = vm_audit_wx(true);
	for (uint64_t i = 0; i < made; i++)
		twin_counter_free(fns[i]);
	rt_free(fns);

	uint64_t *x = rt_alloc(sizeof *x);
	void (*inc)(void) = (void (*)(void))rt_closure_new(shared_inc, x);
	uint64_t (*get)(void) = (uint64_t (*)(void))rt_closure_new(shared_get, x);
	uint64_t shared = 0;
	bool shared_ran = x && inc && get;
	if (shared_ran) {
		*x = 0;
		inc();
		inc();
		shared = get();
	}
	rt_closure_free((void *)inc);
	rt_closure_free((void *)get);
	rt_free(x);
	if (shared_ran)
		kprintf("closures: two closures over one variable: inc(); inc(); get() = %lu\n", shared);
	else
		kprintf("closures: two closures over one variable: out of memory, not run\n");
	rt_closure_get_stats(&s2);
	kprintf("closures: %lu live after freeing (%lu before)\n", s2.live, s0.live);
	if (oom || !shared_ran) {
		kprintf("closures: out of memory: no verdict\n");
		return;
	}
	kprintf("closures: %s\n", (made == n || full) && wrong == 0 && wx == 0 && shared == 2 &&
						  s2.live == s0.live ? "ok" : "FAILED");
}
