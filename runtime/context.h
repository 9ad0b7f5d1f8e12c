/*
 * context.h: a saved task context, and the offsets context.S uses.
 *
 * A task that is not running is described by the callee-saved registers of
 * the System V ABI, its stack pointer and the address it resumes at, all
 * kept in its task record (Go keeps the same in g.sched). Nothing of a
 * switch is written on the task's stack, so switching never touches a
 * stack that may be about to move.
 */
#ifndef MORESTACK_CONTEXT_H
#define MORESTACK_CONTEXT_H

#define CTX_RSP 0
#define CTX_RIP 8
#define CTX_RBX 16
#define CTX_RBP 24
#define CTX_R12 32
#define CTX_R13 40
#define CTX_R14 48
#define CTX_R15 56
#define CTX_SIZE 64

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct rt_context {
	uint64_t rsp, rip;
	uint64_t rbx, rbp, r12, r13, r14, r15;
};

_Static_assert(offsetof(struct rt_context, rsp) == CTX_RSP, "context.S: CTX_RSP");
_Static_assert(offsetof(struct rt_context, rip) == CTX_RIP, "context.S: CTX_RIP");
_Static_assert(offsetof(struct rt_context, rbx) == CTX_RBX, "context.S: CTX_RBX");
_Static_assert(offsetof(struct rt_context, rbp) == CTX_RBP, "context.S: CTX_RBP");
_Static_assert(offsetof(struct rt_context, r12) == CTX_R12, "context.S: CTX_R12");
_Static_assert(offsetof(struct rt_context, r13) == CTX_R13, "context.S: CTX_R13");
_Static_assert(offsetof(struct rt_context, r14) == CTX_R14, "context.S: CTX_R14");
_Static_assert(offsetof(struct rt_context, r15) == CTX_R15, "context.S: CTX_R15");
_Static_assert(sizeof(struct rt_context) == CTX_SIZE, "context.S: CTX_SIZE");
#endif
#endif
