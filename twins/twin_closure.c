/*
 * twin_closure.c: the closures of docs/go-semantics.md section 4, in C on the
 * runtime's closures: Go's counter generator, whose captured x outlives
 * counter() and so lives in the heap ("moved to heap"), and two closures
 * sharing one variable.
 */
#include "twins.h"

#include "closure.h"
#include "heap.h"

struct counter_env {
	uint64_t *x; /* the captured variable: it outlives its frame, so it is in the heap */
};

/* func() int { x++; return x } */
RT_CLOSURE_CODE(counter_next, uint64_t);
uint64_t counter_next_body(void *env)
{
	struct counter_env *e = env;
	return ++*e->x;
}

/* func counter() func() int { x := 0; return func() int { x++; return x } }; NULL if out of memory */
void *twin_counter_new(void)
{
	struct counter_env *e = rt_alloc(sizeof *e);
	uint64_t *x = rt_alloc(sizeof *x);
	void *f = e && x ? rt_closure_new(counter_next, e) : NULL;
	if (!f) {
		rt_free(e);
		rt_free(x);
		return NULL;
	}
	e->x = x;
	return f;
}

/* Frees a counter and its captured x. Returns 0, or -1 if f is not a live closure. */
int twin_counter_free(void *f)
{
	struct counter_env *e = rt_closure_env(f);
	if (!e)
		return -1;
	rt_free(e->x);
	rt_free(e);
	return rt_closure_free_checked(f);
}

/* inc := func() { x++ }; get := func() int { return x }: both capture x */
RT_CLOSURE_CODE(shared_inc, void);
void shared_inc_body(void *env) { ++*(uint64_t *)env; }
RT_CLOSURE_CODE(shared_get, uint64_t);
uint64_t shared_get_body(void *env) { return *(uint64_t *)env; }
