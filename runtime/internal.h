/*
 * internal.h: what the runtime's files share and nobody else calls (the
 * Linux port's tests of the internals include it too). The public
 * interface is rt.h (tasks, stacks, settings), chan.h, defer.h, panic.h,
 * closure.h and heap.h; the platform's side is platform.h.
 */
#ifndef MORESTACK_INTERNAL_H
#define MORESTACK_INTERNAL_H

/* The offset into struct rt_defer_frame defer_tramp.S reads (checked in defer.c). */
#define RT_DF_RET 16

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "defer.h"
#include "platform.h"
#include "rt.h"

/* ---- context.S ---- */
void rt_context_switch(struct rt_context *save, const struct rt_context *load);
_Noreturn void rt_context_load(const struct rt_context *ctx);
void rt_mcall(struct rt_context *save, void (*fn)(void *), void *arg, uintptr_t stack_top);
uint64_t rt_systemstack_call(uint64_t (*fn)(void *), void *arg, uintptr_t stack_top);
void rt_task_trampoline(void);
void rt_kill_trampoline(void);

/* ---- task.c: the scheduler ---- */
uint64_t rt_systemstack(uint64_t (*fn)(void *), void *arg);
bool rt_on_runtime_stack(uintptr_t sp);
void rt_park_on(bool (*commit)(struct rt_task *self, void *arg), void *arg, const char *reason);
void rt_kill_from_fault(struct rt_task *t, struct rt_regs *regs);
_Noreturn void rt_kill_self(const char *reason);
_Noreturn void rt_kill_self_because(const char *why); /* a stop request (preempt.c) */
void rt_stop_point(void);                              /* dies here if a stop stands */
const char *rt_stop_reason(void);                      /* the stop standing, or NULL */
extern const char *volatile rt_stop_why;               /* (the same, for the fast paths) */
/* At the runtime's entries (yield, park, spawn): one load and a branch
 * not taken, unless a stop stands. */
static inline void rt_stop_check(void)
{
	if (__builtin_expect(rt_stop_why != NULL, 0))
		rt_stop_point();
}
void rt_stop_unrun(struct rt_task *t);                 /* counts a runnable task stopped unrun */
bool rt_stop_covers_parked(struct rt_task *t);         /* a parked task the stop ends (counted) */
bool rt_async_safe(struct rt_task *t, const struct rt_regs *regs); /* stackfault.c */
_Noreturn void rt_die(const char *panic_msg);
uint64_t rt_tasks_spawned(void);
uint64_t rt_tasks_live(void);

/* What each CPU has of its own: the one place SMP will multiply (task.c). */
struct rt_cpu {
	struct rt_task *current;          /* NULL: the host context runs */
	struct rt_context host;           /* the host context while a task runs */
	struct rt_defer_frame *host_defers; /* its deferring frames meanwhile */
	struct rt_task *host_waits_for;   /* rt_join from the host: come back when it is done */
	uintptr_t stack_lo, stack_top;    /* the runtime stack */
};
extern struct rt_cpu rt_cpu0;
static inline struct rt_cpu *rt_this_cpu(void) { return &rt_cpu0; }

/*
 * Runtime code that runs on a task's stack (defer and panic: they call the
 * deferred functions there) calls this first, after its prologue and
 * before it changes anything: if its own frames and the runtime calls it
 * makes need the stack to grow, it grows here, not half-way through a
 * record the mover reads. RT_HEADROOM bounds that use: the deepest chain,
 * rt_panic -> report -> rt_print -> kvsnprintf, takes about 1.6 KiB
 * (gcc -fstack-usage); the deferred calls are the task's own code and may
 * grow the stack as they like. It lands in the guard (16 KiB) when less is
 * left, which is what makes the stack grow.
 */
#define RT_HEADROOM (4UL << 10)
static inline __attribute__((always_inline)) void rt_headroom(void)
{
	if (rt_this_cpu()->current) {
		volatile const char *p = (const char *)__builtin_frame_address(0) - RT_HEADROOM;
		(void)*p;
	}
}
_Static_assert(RT_HEADROOM < RT_STACK_GUARD, "the headroom probe must land in the guard");

/* The System V ABI lets a leaf function keep data in the 128 bytes below
 * %rsp without moving it; a faulting context's live data may start there. */
#define RED_ZONE 128

/* ---- stack.c: stacks, their addresses, the record of old ones ---- */
uintptr_t rt_stack_get(size_t size);
void rt_stack_put(uintptr_t lo, size_t size, uintptr_t dirty);
void rt_stack_cache_flush(void);
bool rt_stack_alloc(struct rt_task *t, size_t size);
size_t rt_stack_start_size(rt_func fn);
void rt_stack_learn(rt_func fn, uint64_t high_water);
void rt_stack_free(struct rt_task *t);
void rt_stack_maybe_shrink(struct rt_task *t);
struct rt_task *rt_stack_owner(uintptr_t addr);
uintptr_t rt_stack_va_alloc(size_t size);
void rt_stack_retire(struct rt_task *t, uintptr_t lo, uintptr_t hi, uintptr_t new_lo, uintptr_t new_hi,
		     bool grew);
bool rt_stack_print_where(uintptr_t addr, bool blame);
bool rt_stack_was_tasks(uintptr_t addr, uint64_t id);
extern uint64_t rt_stack_committed;

/* The image area for hibernated tasks (stack.c). */
#define RT_IMAGE_ALIGN 256UL
#define RT_IMAGE_MAX (4UL << 10)
uintptr_t rt_image_alloc(size_t bytes);
void rt_image_free(uintptr_t img, size_t bytes);

/* ---- stackmove.c: moving a stack (Go's copystack), hibernating a parked task ---- */
bool rt_stack_hibernate(struct rt_task *t);
bool rt_stack_wake(struct rt_task *t);
bool rt_stack_move(struct rt_task *t, size_t new_size, uintptr_t used_from, struct rt_regs *regs,
		   bool grow);
/*
 * The last RT_MOVE_RING moves of any task, newest at
 * rt_move_ring[(rt_moves_recorded - 1) % RT_MOVE_RING]: for debuggers
 * (tools/gdb/morestack.py's stack-moves reads them by symbol) and fault
 * reports. Written by the move path with plain stores into a fixed array:
 * nothing allocates, nothing can fault. [fault-safe]
 */
enum rt_move_kind { RT_MOVE_GROW = 1, RT_MOVE_SHRINK, RT_MOVE_HIBERNATE, RT_MOVE_WAKE };
struct rt_move_record {
	uint64_t seq;              /* 1 for the first move since boot */
	uint64_t task;             /* the task's id */
	enum rt_move_kind kind;
	bool remapped;             /* the used pages moved, not copied */
	uintptr_t old_lo, old_hi, new_lo, new_hi;
	uint64_t used;             /* bytes in use that moved */
	uint64_t adjusted;         /* words adjusted: stack, registers, records */
	uintptr_t rip;             /* the faulting or interrupted instruction, 0 if the task was not running */
};
#define RT_MOVE_RING 16
extern struct rt_move_record rt_move_ring[RT_MOVE_RING];
extern uint64_t rt_moves_recorded;

/* ---- stackscan.S: the move's loops over every used word ----
 * Each word w of [src, end) with lo <= w <= hi becomes w + delta; the
 * rest stay as they are. rt_scan_copy writes the result at the same
 * place plus delta, rt_scan_adjust in place. Both return how many words
 * changed. [fault-safe] */
uint64_t rt_scan_copy(const uint64_t *src, const uint64_t *end, int64_t delta, uint64_t lo,
		      uint64_t hi);
uint64_t rt_scan_adjust(uint64_t *p, const uint64_t *end, int64_t delta, uint64_t lo, uint64_t hi);

/* ---- defer.c: the records behind defer (defer.h has the user's side) ---- */
struct rt_defer_rec {
	struct rt_defer_rec *next;
	const void *fn;
	uint64_t args[RT_DEFER_ARGS]; /* evaluated and copied when rt_defer ran */
};

/* Where a recovered panic resumes: see RT_RECOVER_RETURNS. */
struct rt_recovery {
	uint64_t rbp, rbx, r12, r13, r14, r15, rsp, rip;
};

struct rt_defer_frame {
	struct rt_defer_top top;     /* rbp: its id (see defer.h) */
	struct rt_defer_frame *next; /* the caller's deferring frame, if it defers too */
	uintptr_t ret;               /* its real return address */
	uint64_t *result;            /* the named result (integer or pointer), or NULL */
	struct rt_defer_rec *defers; /* newest first; the oldest is `first` */
	int has_recovery;            /* RT_RECOVER_RETURNS ran in this frame */
	struct rt_recovery recovery;
	struct rt_defer_rec first;   /* its first deferred call: no second allocation */
};

uint64_t rt_defers_adjust(struct rt_defer_frame *frames, uintptr_t lo, uintptr_t hi, intptr_t delta);
void rt_defers_drop(struct rt_defer_frame **frames);
void rt_defer_trim(void);
/* A deferred call, called: every one takes RT_DEFER_ARGS integer arguments (the unused ones 0). */
typedef void (*rt_call6)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
int rt_defer_pop(struct rt_defer_frame *f, const void **fn, uint64_t *args);
int rt_defer_next(const void **fn, uint64_t *args);
void rt_defer_run_all(void);

/* ---- panic.c ---- */
struct rt_panic {
	const char *msg;
	struct rt_panic *link;  /* the panic this one interrupted, if any */
	uintptr_t call_sp;      /* %rsp at the call of the deferred call now running */
	bool recovered;
};
_Noreturn void rt_sigpanic(const char *msg); /* where a recoverable fault continues (stackfault.c) */

/* ---- closure.c ---- */
uint64_t rt_closures_adjust(uintptr_t lo, uintptr_t hi, intptr_t delta);
int rt_closure_is(const void *fn);

/* ---- heap.c ---- */
void rt_heap_init(void);
int rt_heap_owns(const void *p);
void rt_heap_trim(void);
#endif /* !__ASSEMBLER__ */
#endif
