/*
 * twins.h: C twins of the Go programs in docs/go-semantics.md, written once on
 * the runtime and run by the kernel's shell commands (and demos) and by
 * the host tests. Each comment quotes the Go program and what Go prints.
 */
#ifndef MORESTACK_TWINS_H
#define MORESTACK_TWINS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * For the incr demo: when set, incr and incrn report each stage with
 * pointers to their a and b and their frame pointer (result: the named
 * result's slot, or NULL when the result is anonymous).
 */
enum twin_stage { TWIN_AT_RETURN, TWIN_IN_DEFER };
struct twin_view {
	uint64_t *a, *b, *result;
	uintptr_t *fp;
};
extern void (*twin_observe)(enum twin_stage stage, const struct twin_view *v);

/*
 * A defer or closure the runtime could not make (out of memory) would
 * silently change what a program prints; the twins panic instead, with
 * TWIN_OOM and what failed, as Go's runtime throws when it cannot
 * allocate: in a task, the task dies and says why.
 */
#define TWIN_OOM "out of memory"
void twin_must(int ok, const char *what);

/* Section 2: defer. */
uint64_t twin_incr(uint64_t a);          /* b = incr(0):  0 1 */
uint64_t twin_incrn(uint64_t a);         /* b = incrn(0): 0 2 */
uint64_t twin_defer_arg(void);           /* 1 */
uint64_t twin_defer_closure(void);       /* 5 */
void twin_lifo(char *out, size_t cap);   /* "2 1 0" */

/* Panic and recover: what each program saw. */
struct twin_panic {
	const char *recovered;  /* what recover() returned, or NULL */
	int deferred_ran;       /* deferred calls run while panicking */
	int in_order;           /* they ran innermost first */
};
uint64_t twin_panic_deep(struct twin_panic *o);                 /* 7, "deep trouble", 100 */
uint64_t twin_panic_nil(struct twin_panic *o, uint64_t nil_ptr); /* 5, "runtime error: ..." */
uint64_t twin_panic_repanic(struct twin_panic *o);              /* 11, "second" */
uint64_t twin_panic_chained(uint64_t unused);                   /* a task: dies */

/* Section 4: closures (twin_closure.c). The code entries are RT_CLOSURE_CODE symbols. */
extern char counter_next[], shared_inc[], shared_get[];
void *twin_counter_new(void);   /* counter(): 1 2 3 ..., each its own x */
int twin_counter_free(void *f);

/*
 * The linked-frame recursion (twin_chain.c): frames 0 .. frames-1, each
 * holding a link to its caller's link. Run chain_task((uint64_t)&job) as
 * a task (or chain_descend(&job) in one); it returns chain_expected(frames)
 * when every frame came back intact, and job.broken counts the links found
 * wrong by the whole-chain walks (one at the bottom, and with check_moves
 * one after every growth the recursion sees) and by each frame on return.
 */
struct chain_link {
	struct chain_link *up;  /* the caller's link: a pointer into the stack */
	uint64_t depth;
};
struct chain_job {
	uint64_t frames;        /* how deep */
	uint64_t frame_bytes;   /* extra bytes each frame takes (cleared alloca), 0 for none */
	bool park;              /* the deepest frame parks until rt_ready */
	bool check_moves;       /* walk the whole chain after every growth */
	uint64_t grows_seen;    /* the task's growths when last looked */
	uint64_t checks;        /* whole-chain walks made */
	uint64_t broken;        /* walks and frames that found a link wrong */
};
uint64_t chain_mix(uint64_t x);  /* a 64-bit mixer (MurmurHash3's finaliser, half) */
uint64_t chain_descend(struct chain_job *job);
uint64_t chain_task(uint64_t job);
uint64_t chain_expected(uint64_t frames);

/* Section 5: the hot split (twin_hotsplit.c). */
uint64_t twin_hot_leaf(uint64_t x);
uint64_t twin_at_boundary(uint64_t iters);
#endif
