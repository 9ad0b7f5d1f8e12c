/*
 * twin_defer.c: the defer programs of docs/go-semantics.md section 2, in C on the
 * runtime's defer and closures. A Go closure is code plus the variables it
 * captures; here an RT_CLOSURE_CODE body plus an environment struct of
 * pointers to the captured variables, which live in the deferring frame
 * (they do not outlive it: Go keeps them on the stack too).
 */
#include "twins.h"

#include "closure.h"
#include "defer.h"
#include "panic.h"

void twin_must(int ok, const char *what)
{
	if (!ok)
		rt_panic(what);
}

void (*twin_observe)(enum twin_stage stage, const struct twin_view *v);

struct ab {
	uint64_t *a, *b;
	struct twin_view view; /* what the demo draws */
};

/* func() { a++; b++ } */
RT_CLOSURE_CODE(twin_bump_ab, void);
void twin_bump_ab_body(void *env)
{
	struct ab *e = env;
	++*e->a;
	++*e->b;
	if (twin_observe)
		twin_observe(TWIN_IN_DEFER, &e->view);
}

/* func incr(a int) int { var b int; defer func() { a++; b++ }(); a++; b = a; return b } */
RT_DEFERS uint64_t twin_incr(uint64_t a)
{
	uint64_t b = 0;
	struct ab env = { &a, &b, { &a, &b, NULL, __builtin_frame_address(0) } };
	void *f = rt_closure_new(twin_bump_ab, &env);
	twin_must(f != NULL, TWIN_OOM ": no trampoline for incr's closure");
	if (rt_defer((void *)rt_closure_free, 1, (uint64_t)f) != 0) { /* last: LIFO */
		rt_closure_free(f);
		rt_panic(TWIN_OOM ": incr cannot defer");
	}
	twin_must(rt_defer(f, 0) == 0, TWIN_OOM ": incr cannot defer");
	a++;
	b = a;
	if (twin_observe)
		twin_observe(TWIN_AT_RETURN, &env.view);
	RT_RETURN(b); /* the result is copied now; the deferred b++ changes a local */
}

/* func incrn(a int) (b int) { defer func() { a++; b++ }(); a++; return a } */
RT_DEFERS uint64_t twin_incrn(uint64_t a)
{
	uint64_t b = 0;
	twin_must(rt_defer_result(&b) == 0, TWIN_OOM ": incrn cannot defer"); /* b: the named result */
	struct ab env = { &a, &b, { &a, &b, &b, __builtin_frame_address(0) } };
	void *f = rt_closure_new(twin_bump_ab, &env);
	twin_must(f != NULL, TWIN_OOM ": no trampoline for incrn's closure");
	if (rt_defer((void *)rt_closure_free, 1, (uint64_t)f) != 0) {
		rt_closure_free(f);
		rt_panic(TWIN_OOM ": incrn cannot defer");
	}
	twin_must(rt_defer(f, 0) == 0, TWIN_OOM ": incrn cannot defer");
	a++;
	b = a; /* `return a` assigns the named result first */
	if (twin_observe)
		twin_observe(TWIN_AT_RETURN, &env.view);
	RT_RETURN(b);
}

/* func(v int) { r = v } */
RT_CLOSURE_CODE(twin_set_r, void, uint64_t);
void twin_set_r_body(void *env, uint64_t v) { *(uint64_t *)env = v; }

/* func deferArg() (r int) { x := 1; defer func(v int) { r = v }(x); x = 5; return 0 } */
RT_DEFERS uint64_t twin_defer_arg(void)
{
	uint64_t r = 0, x = 1;
	twin_must(rt_defer_result(&r) == 0, TWIN_OOM ": deferArg cannot defer");
	void *f = rt_closure_new(twin_set_r, &r);
	twin_must(f != NULL, TWIN_OOM ": no trampoline for deferArg's closure");
	if (rt_defer((void *)rt_closure_free, 1, (uint64_t)f) != 0) {
		rt_closure_free(f);
		rt_panic(TWIN_OOM ": deferArg cannot defer");
	}
	twin_must(rt_defer(f, 1, x) == 0, TWIN_OOM ": deferArg cannot defer"); /* x evaluated here: 1 */
	x = 5;
	r = 0;
	RT_RETURN(r);
}

struct rx {
	uint64_t *r, *x;
};

/* func() { r = x } */
RT_CLOSURE_CODE(twin_copy_x, void);
void twin_copy_x_body(void *env)
{
	struct rx *e = env;
	*e->r = *e->x;
}

/* func deferClosure() (r int) { x := 1; defer func() { r = x }(); x = 5; return 0 } */
RT_DEFERS uint64_t twin_defer_closure(void)
{
	uint64_t r = 0, x = 1;
	twin_must(rt_defer_result(&r) == 0, TWIN_OOM ": deferClosure cannot defer");
	struct rx env = { &r, &x };
	void *f = rt_closure_new(twin_copy_x, &env);
	twin_must(f != NULL, TWIN_OOM ": no trampoline for deferClosure's closure");
	if (rt_defer((void *)rt_closure_free, 1, (uint64_t)f) != 0) {
		rt_closure_free(f);
		rt_panic(TWIN_OOM ": deferClosure cannot defer");
	}
	twin_must(rt_defer(f, 0) == 0, TWIN_OOM ": deferClosure cannot defer"); /* reads x: 5 */
	x = 5;
	r = 0;
	RT_RETURN(r);
}

struct text {
	char *out;
	size_t cap, len;
};

static void print_int(struct text *t, uint64_t i)
{
	if (t->len + 2 < t->cap) {
		if (t->len)
			t->out[t->len++] = ' ';
		t->out[t->len++] = (char)('0' + i % 10);
		t->out[t->len] = '\0';
	}
}

/* for i := 0; i < 3; i++ { defer print(i) }   prints 2 1 0 */
RT_DEFERS static void lifo(struct text *t)
{
	for (uint64_t i = 0; i < 3; i++)
		twin_must(rt_defer((void *)print_int, 2, (uint64_t)t, i) == 0,
			  TWIN_OOM ": LIFO cannot defer");
	RT_RETURN_VOID();
}

void twin_lifo(char *out, size_t cap)
{
	struct text t = { out, cap, 0 };
	if (cap)
		out[0] = '\0';
	lifo(&t);
}
