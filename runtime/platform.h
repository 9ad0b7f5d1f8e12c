/*
 * platform.h: what the runtime core needs from the machine under it.
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
#include <stddef.h>
#include <stdint.h>

#define PLAT_PAGE 4096UL

/* ---- virtual memory ---- */

/* Reserves the stack region: `bytes` of address space nothing else will
 * use, inaccessible until committed. Returns its base, or 0. Called once. */
uintptr_t plat_stack_region(size_t bytes);

/* Makes [addr, addr+bytes) readable and writable, zero-filled. Returns 0 or -1. [fault-safe] */
int plat_commit(uintptr_t addr, size_t bytes);

/* Makes [addr, addr+bytes) inaccessible again and gives its memory back
 * (to a pool: the physical pages are reused, the addresses never). [fault-safe] */
void plat_decommit(uintptr_t addr, size_t bytes);

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

#endif
