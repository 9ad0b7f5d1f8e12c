/*
 * rt.h: the morestack runtime's public interface: tasks on growable
 * stacks, a cooperative scheduler, the stacks' settings and figures. The
 * rest of the public interface: chan.h, defer.h, panic.h, closure.h,
 * heap.h. What a platform implements and calls is platform.h; what the
 * runtime's files share among themselves is internal.h.
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

#include "context.h"

#define RT_STACK_MIN 4096UL              /* a task's first stack: one page */
/* Unmapped VA below every stack. Code built with -fstack-clash-protection
 * touches the stack at least every 4 KiB, so 16 KiB is four probes' worth. */
#define RT_STACK_GUARD (16UL << 10)
#define RT_STACK_LIMIT_DEFAULT 1000000000UL /* Go's 1 GB on 64-bit */
#define RT_STACK_REGION (16UL << 40)     /* VA reserved for all stacks, ever */

typedef uint64_t (*rt_func)(uint64_t arg);

/*
 * Memory from alloca on a task stack, cleared up to its 16-byte rounding.
 * The mover takes a stack word for a pointer when its value is inside the
 * stack; a word that is half data (the last bytes of an odd-sized buffer)
 * and half leftovers of an old pointer would look like one, and its upper
 * bytes would change when the stack moves. Cleared memory has no
 * leftovers. Code that runs in tasks is built with
 * -ftrivial-auto-var-init=zero for the same reason (locals, padding, VLAs);
 * alloca is the one allocation that flag does not clear.
 */
#define RT_ALLOCA(n)                                                          \
	({                                                                    \
		size_t rt_alloca_n_ = ((size_t)(n) + 15) & ~(size_t)15;       \
		void *rt_alloca_p_ = __builtin_alloca(rt_alloca_n_);          \
		__builtin_memset(rt_alloca_p_, 0, rt_alloca_n_);              \
		rt_alloca_p_;                                                 \
	})
struct rt_defer_frame; /* internal.h */
struct rt_panic;       /* internal.h */

enum rt_task_state { RT_RUNNABLE, RT_RUNNING, RT_PARKED, RT_DONE };
enum rt_exit_kind { RT_EXIT_NONE, RT_EXIT_RETURNED, RT_EXIT_KILLED };

struct rt_stack_stats {
	uint64_t grows, shrinks;
	uint64_t bytes_copied;
	uint64_t bytes_remapped;   /* used bytes moved by moving their pages, not copied */
	uint64_t hibernations;     /* times it gave its stack back while parked */
	uint64_t pointers_adjusted;
	uint64_t move_ns;          /* time spent moving, grows and shrinks */
	uint64_t high_water;       /* most bytes ever used: see rt_stack_high_water */
};

struct rt_task {
	uint64_t id;
	enum rt_task_state state;
	enum rt_exit_kind exit_kind;
	uint64_t exit_value;
	struct rt_context ctx;     /* while not running: where and how it continues */
	uintptr_t stack_lo, stack_hi; /* the mapped stack; the guard is below stack_lo */
	uintptr_t stack_dirty;     /* its lowest written word when last measured (rt_stack_high_water) */
	uintptr_t image;           /* hibernated (no stack, stack_lo 0): where its used bytes are */
	uint64_t image_bytes;      /*   the image's size */
	uint64_t image_stack_size; /*   the stack it gets back when it wakes */
	rt_func fn;
	uint64_t arg;
	const char *name;
	struct rt_stack_stats stats;
	struct rt_task *next;      /* run queue or wait queue link */
	struct rt_task *all_next;  /* every task not yet reaped, newest first */
	struct rt_task *all_prev;
	struct rt_task *joiners;   /* tasks parked in rt_join on this one, linked through next */
	void *wait_elem;           /* channel element pointer while parked (may point into its stack) */
	struct rt_defer_frame *defer_frames; /* while not running: its innermost deferring frame */
	struct rt_panic *panic;    /* the newest panic under way, in this task's stack */
	uint64_t wait_ok;
	const char *wait_reason;   /* while parked: what for, in Go's words ("chan receive") */
	/* While parked in a queue (a channel's, a task's joiners): takes it out,
	 * so a stop (preempt.c) can end it. NULL in no queue, and once readied. */
	void (*wait_cancel)(struct rt_task *self, void *queue_owner);
	void *wait_owner;
	char kill_reason[64];      /* why it was killed */
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
uint64_t rt_next_task_id(void);    /* the id the next rt_spawn gives */
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
/*
 * Go's stackFaultOnFree. Off: a stack whose task died or moved away is
 * cleared and cached (up to 32 KiB stacks), and its addresses are used
 * again by the next stack of its size. On: it is unmapped and its
 * addresses are never used again, so a stale pointer into it faults and
 * the report names the stack and the move (the stale-pointer demos turn
 * it on). Each platform sets its default at start-up (README).
 */
extern bool rt_stack_fault_on_free;
/*
 * Adaptive first stacks (Go 1.19's adaptivestackstart, per entry
 * function): on, a task starts on a stack the size its function's recent
 * tasks needed (up to 32 KiB), so it need not grow to it; off, every task
 * starts at RT_STACK_MIN. Each platform sets its default (README).
 */
extern bool rt_stack_adaptive;
/*
 * Hibernation: when no task can run (rt_run, rt_join from outside tasks
 * return to their caller), every parked task that uses at most 4 KiB of
 * its stack gives the stack back and keeps only its used bytes, rounded
 * up to 256, in an image; it gets a stack again, of the size it had, when
 * it is next run. rt_hibernate_parked does the same at once (from a task
 * too). Each platform sets its default (README).
 */
extern bool rt_stack_hibernation;
uint64_t rt_hibernate_parked(void); /* returns how many tasks hibernated */
void rt_set_stack_fault_on_free(bool on);
/* The stack cache's size classes: RT_STACK_MIN << 0 .. RT_STACK_MIN << 3 (4 to 32 KiB). */
#define RT_STACK_CACHE_CLASSES 4
struct rt_global_stats {
	uint64_t tasks_spawned, tasks_live;
	uint64_t stack_bytes_committed;  /* stack memory the tasks hold now */
	uint64_t stack_va_used;          /* stack address space handed out so far */
	uint64_t stack_bytes_cached;     /* mapped, zeroed stacks kept for reuse */
	uint64_t stacks_cached;          /* how many */
	uint64_t image_bytes_used;       /* hibernated tasks' images */
	uint64_t image_bytes_mapped;     /* the image area (64 KiB chunks) */
	uint64_t stack_cache_hits;       /* stacks taken from the cache */
	uint64_t stack_cache_misses;     /* stacks of a cached size that had to be mapped */
	uint64_t stacks_cached_class[RT_STACK_CACHE_CLASSES]; /* by size: 4, 8, 16, 32 KiB */
	uint64_t stale_ranges;           /* moved-out ranges remembered for reports */
};
void rt_get_stats(struct rt_global_stats *s);

/* ---- figures and printing ---- */
uint64_t rt_stack_high_water(struct rt_task *t);
void rt_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
