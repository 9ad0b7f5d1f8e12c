/*
 * platform.h: the interface between the runtime core and the machine
 * under it, both ways: what a platform provides (plat_*) and what it
 * calls in the runtime (rt_fault, the move-stress tick, the questions its
 * fault reports ask).
 *
 * The runtime (tasks, growable stacks, heap, channels) is plain C. Two
 * platforms implement this interface:
 *   - ports/platform_kernel.c: page tables and the #PF handler on its IST stack;
 *   - ports/platform_linux.c: mmap/mprotect reservations, SIGSEGV on an
 *     alternate signal stack.
 * Functions marked [fault-safe] may be called from the fault path: they
 * never fault, never take a lock a task may hold, and never touch the
 * faulting task's stack.
 */
#ifndef MORESTACK_PLATFORM_H
#define MORESTACK_PLATFORM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt.h"

#define PLAT_PAGE 4096UL

/* ---- virtual memory ---- */

/* Reserves the stack region: `bytes` of address space nothing else will
 * use, inaccessible until committed. Returns its base, or 0. Called once. */
uintptr_t plat_stack_region(size_t bytes);

/* Makes [addr, addr+bytes) readable and writable, zero-filled. Returns 0 or -1. [fault-safe] */
int plat_commit(uintptr_t addr, size_t bytes);

/* Makes [addr, addr+bytes) inaccessible again and gives its memory back
 * (to a pool: the physical pages are reused, the addresses never).
 * Nothing below written_from was written since the commit (it is still
 * zero): a pool that keeps its pages zeroed clears only [written_from,
 * addr+bytes) of them, and the next commit clears nothing. Pass addr when
 * that is not known, addr+bytes when nothing was written. [fault-safe] */
void plat_decommit(uintptr_t addr, size_t bytes, uintptr_t written_from);

/* Moves the pages of the stack [stack_lo, stack_lo+stack_size) that lie
 * from `from` (page aligned) to its top, to `to` (page aligned, reserved,
 * not committed), without copying their bytes: page-table entries on bare
 * metal, mremap on Linux. The pages at `from` are then inaccessible.
 * Returns 0, or -1 (nothing changed) where the platform cannot: the
 * caller copies instead. [fault-safe] */
int plat_move_pages(uintptr_t stack_lo, size_t stack_size, uintptr_t from, uintptr_t to);
/* The least used part of a growing stack worth moving by plat_move_pages
 * rather than copying: one page on bare metal (a page-table write and an
 * invlpg per page), 64 KiB on Linux (below it two mremap/mmap system calls
 * cost more than the copy). */
extern const size_t plat_remap_min;

/* The runtime's own stack (Go's g0 stack), one per CPU: `bytes` mapped
 * and never moving, with an unmapped guard below. Returns its top
 * (16-byte aligned), or 0. Called once. */
uintptr_t plat_runtime_stack(size_t bytes);

/* True if pc is in the program's own code (not a library's, not data):
 * the code bytes there can be read. [fault-safe] */
int plat_program_text(uintptr_t pc);

/* For closure trampolines: maps code_page (one page of code, never
 * written) again at a fresh address, read-only and executable, and a fresh
 * zeroed page right after it, readable and writable, never executable.
 * Returns the code page's new address, or 0. */
uintptr_t plat_map_code_pair(const void *code_page);

/* Pages for the heap: `pages` contiguous pages, zero-filled, or NULL. */
void *plat_heap_pages(size_t pages);
void plat_heap_free_pages(void *p, size_t pages);

/* ---- time and console ---- */
uint64_t plat_now_ns(void);   /* monotonic nanoseconds [fault-safe] */
void plat_write(const char *s, size_t n); /* the console [fault-safe] */

/* ---- symbols, for stack listings: "name+0xoff", or 0 if unknown ---- */
int plat_symbolize(uintptr_t pc, char *buf, size_t cap);

/* ---- the end: an error the runtime cannot survive (the kernel panics,
 * the Linux port aborts) ---- */
_Noreturn void rt_fatal(const char *msg);

/* ---- what the platform calls on a fault in a task ---- */
struct rt_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip;
	/* Other places the interrupted code may keep a stack address in: the
	 * 8-byte lanes of the vector registers in the Linux port's signal frame
	 * (xmm, and the ymm/zmm upper parts when present). None on bare metal,
	 * where tasks use general registers only. Adjusted like registers. */
	uint64_t *lanes[256];
	unsigned nlanes;
};

enum rt_fault_action {
	RT_FAULT_RESUME,   /* resolved: retry the instruction with *regs */
	RT_FAULT_KILL,     /* the current task dies: resume at *regs (the scheduler) */
	RT_FAULT_NOT_OURS, /* not a task's fault: the platform's own handling */
};
enum rt_fault_kind { RT_FAULT_PAGE, RT_FAULT_DIVIDE, RT_FAULT_OTHER };

enum rt_fault_action rt_fault(struct rt_regs *regs, uintptr_t addr, enum rt_fault_kind kind,
			      const char *what);

/*
 * The move-stress switch (Go's GODEBUG maymorestack=mayMoreStackMove, but
 * at any instruction): when rt_stress_moves is on, the platform calls
 * rt_stress_tick from a timer interrupt or signal with the interrupted
 * context. If a task's own code was running there (not the runtime, not
 * code outside the program such as libc), its stack moves, grown or
 * shrunk at random; *regs is adjusted. Returns true if it moved.
 */
extern bool rt_stress_moves;
bool rt_stress_tick(struct rt_regs *regs);
void rt_stress_counts(uint64_t counts[3]); /* moves to stacks twice, as, half as large */

/*
 * Stopping running tasks (preempt.c; the shell's Ctrl-C): after
 * rt_stop_request, each task dies at its next safe point, and the
 * platform's interrupt or signal handler calls rt_preempt with the
 * interrupted context, which kills the current task there if its own
 * code was running (returns true; *regs then continues in the runtime),
 * else returns false (try again at the next tick). [fault-safe]
 */
void rt_stop_request(const char *reason, uint64_t first_parked_id); /* parked tasks with ids from here die too */
void rt_stop_clear(void);
bool rt_stop_requested(void);
bool rt_preempt(struct rt_regs *regs);
void rt_stop_counts(uint64_t counts[3]); /* tasks stopped: at an interrupt, at a safe point, unrun or parked */

/* ---- for the platform's fault reports and the shell's `falsepos` ---- */
bool rt_stack_word_could_point(uint64_t w); /* would a move adjust a word of this value? */
uint64_t rt_stack_words_possible(void);     /* how many values would be */
bool rt_stack_describe(uintptr_t addr, char *buf, size_t cap);
#endif
