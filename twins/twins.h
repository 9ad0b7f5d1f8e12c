/*
 * twins.h: C twins of the Go programs in GO_SEMANTICS.md, written once on
 * the runtime and run by the kernel's shell commands (and demos) and by
 * the host tests. Each comment quotes the Go program and what Go prints.
 */
#ifndef MORESTACK_TWINS_H
#define MORESTACK_TWINS_H
#include <stddef.h>
#include <stdint.h>

/* Section 2: defer. */
uint64_t twin_incr(uint64_t a);          /* b = incr(0):  0 1 */
uint64_t twin_incrn(uint64_t a);         /* b = incrn(0): 0 2 */
uint64_t twin_defer_arg(void);           /* 1 */
uint64_t twin_defer_closure(void);       /* 5 */
void twin_lifo(char *out, size_t cap);   /* "2 1 0" */
#endif
