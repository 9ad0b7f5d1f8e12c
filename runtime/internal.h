/*
 * internal.h: what the runtime's files share and nobody else calls. The
 * public interface is rt.h (tasks, stacks, settings), chan.h, defer.h,
 * panic.h, closure.h and heap.h.
 */
#ifndef MORESTACK_INTERNAL_H
#define MORESTACK_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"
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
_Noreturn void rt_die(const char *panic_msg);
uint64_t rt_tasks_spawned(void);
uint64_t rt_tasks_live(void);

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
	if (rt_current()) {
		volatile const char *p = (const char *)__builtin_frame_address(0) - RT_HEADROOM;
		(void)*p;
	}
}
_Static_assert(RT_HEADROOM < RT_STACK_GUARD, "the headroom probe must land in the guard");

/* The System V ABI lets a leaf function keep data in the 128 bytes below
 * %rsp without moving it; a faulting context's live data may start there. */
#define RED_ZONE 128

/* ---- stack.c: stacks, their addresses, the record of old ones ---- */
bool rt_stack_alloc(struct rt_task *t, size_t size);
void rt_stack_free(struct rt_task *t);
void rt_stack_maybe_shrink(struct rt_task *t);
struct rt_task *rt_stack_owner(uintptr_t addr);
uintptr_t rt_stack_va_alloc(size_t size);
void rt_stack_retire(struct rt_task *t, uintptr_t lo, uintptr_t hi, uintptr_t new_lo, uintptr_t new_hi,
		     bool grew);
bool rt_stack_print_where(uintptr_t addr, bool blame);
bool rt_stack_was_tasks(uintptr_t addr, uint64_t id);
extern uint64_t rt_stack_committed;

/* ---- stackmove.c: moving a stack (Go's copystack) ---- */
bool rt_stack_move(struct rt_task *t, size_t new_size, uintptr_t used_from, struct rt_regs *regs,
		   bool grow);
#endif
