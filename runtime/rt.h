/*
 * rt.h: the morestack runtime's public interface: tasks on growable
 * stacks, a cooperative scheduler, and what the platform calls on a fault.
 *
 * A task is a C function running on a stack of its own that starts at one
 * page and doubles (by moving) whenever the task runs into the unmapped
 * guard region below it. See stack.c for the mechanism and its rules.
 */
#ifndef MORESTACK_RT_H
#define MORESTACK_RT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_STACK_MIN 4096UL              /* a task's first stack: one page */
/* Unmapped VA below every stack. Code built with -fstack-clash-protection
 * touches the stack at least every 4 KiB, so 16 KiB is four probes' worth. */
#define RT_STACK_GUARD (16UL << 10)
#define RT_STACK_LIMIT_DEFAULT 1000000000UL /* Go's 1 GB on 64-bit */
#define RT_STACK_REGION (16UL << 40)     /* VA reserved for all stacks, ever */

typedef uint64_t (*rt_func)(uint64_t arg);
struct rt_defer_frame;
struct rt_panic;

enum rt_task_state { RT_RUNNABLE, RT_RUNNING, RT_PARKED, RT_DONE };
enum rt_exit_kind { RT_EXIT_NONE, RT_EXIT_RETURNED, RT_EXIT_KILLED };

struct rt_stack_stats {
	uint64_t grows, shrinks;
	uint64_t bytes_copied;
	uint64_t pointers_adjusted;
	uint64_t move_ns;          /* time spent moving, grows and shrinks */
	uint64_t high_water;       /* most bytes ever used: see rt_stack_high_water */
};

struct rt_task {
	uint64_t id;
	enum rt_task_state state;
	enum rt_exit_kind exit_kind;
	uint64_t exit_value;
	uintptr_t saved_rsp;       /* while not running: its callee-saved registers are there */
	uintptr_t stack_lo, stack_hi; /* the mapped stack; the guard is below stack_lo */
	rt_func fn;
	uint64_t arg;
	const char *name;
	struct rt_stack_stats stats;
	struct rt_task *next;      /* run queue or wait queue link */
	struct rt_task *all_next;  /* every task not yet reaped, newest first */
	struct rt_task *all_prev;
	struct rt_task *joiner;    /* a task parked in rt_join on this one */
	void *wait_elem;           /* channel element pointer while parked (may point into its stack) */
	struct rt_defer_frame *defer_frames; /* while not running: its innermost deferring frame */
	struct rt_panic *panic;    /* the newest panic under way, in this task's stack */
	uint64_t wait_ok;
	char kill_reason[64];      /* why it was killed; sized so the record fits 256 bytes */
};

/* ---- tasks ---- */
void rt_init(void);
struct rt_task *rt_spawn(rt_func fn, uint64_t arg, const char *name);
void rt_yield(void);
_Noreturn void rt_exit(uint64_t value);
enum rt_exit_kind rt_join(struct rt_task *t, uint64_t *value);
void rt_run(void);                 /* from a non-task context: run until no task is runnable */
struct rt_task *rt_current(void);  /* NULL outside tasks */
void rt_park(void);                /* current task waits until rt_ready(it) */
void rt_ready(struct rt_task *t);
struct rt_task *rt_task_by_id(uint64_t id);
struct rt_task *rt_tasks(void);    /* list through all_next */
void rt_reap(struct rt_task *t);   /* forget a finished task (frees its record) */

/* ---- settings and figures ---- */
extern uint64_t rt_stack_limit;    /* bytes; growth past it kills the task: set it with rt_set_stack_limit */
/* The limits a setting may take: a stack is a power of two that must fit,
 * with its guard, in one 2 GiB window of stack addresses (see stack.c). */
#define RT_STACK_LIMIT_MIN (2 * RT_STACK_MIN)
#define RT_STACK_LIMIT_MAX (1UL << 30)
/* Sets the stack limit; returns 0, or -1 (and changes nothing) if bytes is
 * outside [RT_STACK_LIMIT_MIN, RT_STACK_LIMIT_MAX]. */
int rt_set_stack_limit(uint64_t bytes);
extern bool rt_trace_moves;        /* print every stack move as it happens */
struct rt_global_stats {
	uint64_t tasks_spawned, tasks_live;
	uint64_t stack_bytes_committed;  /* mapped stack memory now */
	uint64_t stack_va_used;          /* stack address space consumed, never reused */
	uint64_t stale_ranges;           /* moved-out ranges remembered for reports */
};
void rt_get_stats(struct rt_global_stats *s);

/* ---- what the platform calls on a fault in a task ---- */
struct rt_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip;
};

enum rt_fault_action {
	RT_FAULT_RESUME,   /* resolved: retry the instruction with *regs */
	RT_FAULT_KILL,     /* the current task dies: resume at *regs (the scheduler) */
	RT_FAULT_NOT_OURS, /* not a task's fault: the platform's own handling */
};
enum rt_fault_kind { RT_FAULT_PAGE, RT_FAULT_DIVIDE, RT_FAULT_OTHER };

enum rt_fault_action rt_fault(struct rt_regs *regs, uintptr_t addr, enum rt_fault_kind kind,
			      const char *what);

/* ---- internals shared by runtime files ---- */
bool rt_stack_alloc(struct rt_task *t, size_t size);
void rt_stack_free(struct rt_task *t);
void rt_stack_maybe_shrink(struct rt_task *t);
bool rt_stack_describe(uintptr_t addr, char *buf, size_t cap);
uint64_t rt_stack_high_water(struct rt_task *t);
void rt_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
