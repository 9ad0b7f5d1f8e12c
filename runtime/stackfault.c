/*
 * stackfault.c: what a fault in a task means (Go's newstack decides, and
 * sigpanic turns the rest into panics).
 *
 *   a fault ──> whose is it? (by the faulting %rsp, not by who should be running)
 *     │  no task's: the platform's (a kernel fault report; the Linux port aborts)
 *     ├─ in the task's guard ───────> grow: double until the access fits,
 *     │                               within the limit ("stack overflow")
 *     ├─ nil page, divide by zero ──> a Go runtime error panic in the task
 *     └─ anything else ────────────> a report; only that task dies
 *
 * Invariants:
 *   - The faulting task is the one whose stack or guard holds the faulting
 *     %rsp. A fault with %rsp elsewhere (the runtime stack, the host's) is
 *     not a task's, and the runtime says so rather than blame one.
 *   - Nothing here allocates, takes a lock, or runs anything re-entrant:
 *     killing a task only sends it to rt_kill_trampoline (task.c), where
 *     the runtime stack does the work as ordinary code.
 */
#include "internal.h"
#include "panic.h"
#include "platform.h"
#include "rt.h"

#include "format.h"

/* Kills t from the fault path, with a line saying why. */
static enum rt_fault_action kill(struct rt_task *t, struct rt_regs *regs, const char *reason)
{
	ksnprintf(t->kill_reason, sizeof t->kill_reason, "%s", reason);
	rt_print("runtime: task %lu (%s) killed: %s; the other tasks go on\n", t->id, t->name, reason);
	rt_kill_from_fault(t, regs);
	return RT_FAULT_KILL;
}

/* rt_regs by the x86 register number of an instruction encoding. */
static uint64_t *reg_by_number(struct rt_regs *r, int n)
{
	uint64_t *const map[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
				    &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	return map[n & 15];
}

/* If p is `cmp %REG, %rsp` (either encoding), REG's number; else -1. */
static int cmp_with_rsp(const uint8_t *p)
{
	if ((p[0] & 0xf8) != 0x48)
		return -1;
	if (p[1] == 0x39 && (p[2] & 0xc7) == 0xc4) /* cmp %REG, %rsp: REX.R extends REG */
		return ((p[2] >> 3) & 7) | (p[0] & 4 ? 8 : 0);
	if (p[1] == 0x3b && (p[2] & 0xf8) == 0xe0) /* the same, encoded the other way: REX.B */
		return (p[2] & 7) | (p[0] & 1 ? 8 : 0);
	return -1;
}

/*
 * If the faulting instruction is the probe of a stack-clash protection
 * loop, in either shape gcc emits for a large frame or an alloca:
 *
 *     loop: sub  $0x1000, %rsp          loop: cmp  %REG, %rsp
 *           orq  $0x0, disp(%rsp) <-          je   out
 *           cmp  %REG, %rsp                   sub  $0x1000, %rsp
 *           jne  loop                         orq  $0x0, disp(%rsp) <-
 *                                             jmp  loop
 *
 * (<-: the instruction that faults in the guard), returns REG in *regs:
 * the end address the loop counts down to, which may lie below the guard
 * (the whole frame to come) and must move with the stack. Otherwise NULL.
 * The code is read where it ran: the fault was a data access (the guard),
 * so the instruction was fetched, and the loop around it is in the same
 * function; libraries built with the same protection (glibc) are decoded
 * too.
 */
static uint64_t *probe_loop_end(struct rt_regs *regs)
{
	const uint8_t *p = (const uint8_t *)regs->rip;
	/* orq $0, disp(%rsp): REX.W 83 /1, ModRM r/m = SIB, SIB = (%rsp), imm8 0 */
	if (p[0] != 0x48 || p[1] != 0x83 || (p[2] & 0x3f) != 0x0c || p[3] != 0x24)
		return NULL;
	int mod = p[2] >> 6, len = mod == 0 ? 4 : mod == 1 ? 5 : mod == 2 ? 8 : 0;
	if (!len || p[len] != 0)
		return NULL;
	p += len + 1;
	int reg = cmp_with_rsp(p);
	if (reg < 0 && (p[0] == 0xeb || p[0] == 0xe9)) { /* jmp back to the loop's cmp */
		int32_t rel;
		if (p[0] == 0xeb) {
			rel = (int8_t)p[1];
			p += 2;
		} else {
			__builtin_memcpy(&rel, p + 1, 4);
			p += 5;
		}
		p += rel;
		if (p >= (const uint8_t *)regs->rip - 64 && p < (const uint8_t *)regs->rip)
			reg = cmp_with_rsp(p); /* a loop: its cmp is a few bytes before the probe */
	}
	return reg < 0 ? NULL : reg_by_number(regs, reg);
}

/* A fault in t's guard: double until the faulting access fits, within the limit. */
static enum rt_fault_action grow(struct rt_task *t, struct rt_regs *regs, uintptr_t addr)
{
	size_t size = t->stack_hi - t->stack_lo, new_size = size * 2;
	uintptr_t lowest = regs->rsp - RED_ZONE < addr ? regs->rsp - RED_ZONE : addr;
	uint64_t *end = addr == regs->rip ? NULL : probe_loop_end(regs), end_was = end ? *end : 0;
	uintptr_t own_lo = t->stack_lo - RT_STACK_GUARD, old_hi = t->stack_hi;
	/* The loop's end is the frame to come: make room for all of it at once,
	 * if it is below us and within what the limit could allow. */
	if (end && end_was < lowest && end_was + rt_stack_limit >= t->stack_hi)
		lowest = end_was;
	else
		end = NULL;
	size_t need = t->stack_hi - (lowest & ~(PLAT_PAGE - 1));
	while (new_size < need && new_size <= rt_stack_limit)
		new_size *= 2;
	if (new_size > rt_stack_limit) {
		rt_print("runtime: goroutine stack exceeds %lu-byte limit\n", rt_stack_limit);
		rt_print("runtime: sp=%#lx stack=[%#lx, %#lx]\n", regs->rsp, t->stack_lo, t->stack_hi);
		rt_print("fatal error: stack overflow\n");
		return kill(t, regs, "stack overflow");
	}
	if (!rt_stack_move(t, new_size, regs->rsp - RED_ZONE, regs, true)) {
		rt_print("runtime: task %lu needs a %lu-byte stack (has %lu): out of memory\n", t->id,
			 new_size, size);
		return kill(t, regs, "out of memory growing its stack");
	}
	/* The move adjusted it already if it was inside the task's range. */
	if (end && *end == end_was && (end_was < own_lo || end_was > old_hi))
		*end += t->stack_hi - old_hi;
	if (need > t->stats.high_water)
		t->stats.high_water = need;
	return RT_FAULT_RESUME;
}

/*
 * Turns a hardware fault into a Go runtime panic in the task, as Go's
 * sigpanic does: the task continues in rt_sigpanic(msg) on its own stack,
 * as if the faulting instruction had called it (a backtrace shows the
 * faulting function). Kills the task instead if its stack has no room.
 */
static enum rt_fault_action to_panic(struct rt_task *t, struct rt_regs *regs, const char *msg)
{
	uintptr_t sp = ((regs->rsp - RED_ZONE) & ~15UL) - 8;
	if (sp < t->stack_lo || sp + 8 > t->stack_hi)
		return kill(t, regs, msg);
	*(uint64_t *)sp = regs->rip;
	regs->rsp = sp;
	regs->rdi = (uint64_t)msg;
	regs->rip = (uint64_t)rt_sigpanic;
	return RT_FAULT_RESUME;
}

/*
 * Whose fault is this? The task whose stack or guard holds the faulting
 * %rsp. NULL if none: the host context's, or the runtime's own (reported).
 */
static struct rt_task *faulting_task(struct rt_regs *regs, const char *what)
{
	struct rt_task *cur = rt_current(), *t;
	if (!cur)
		return NULL;
	if (regs->rsp >= cur->stack_lo - RT_STACK_GUARD && regs->rsp <= cur->stack_hi)
		return cur;
	if (rt_stack_was_tasks(regs->rsp, cur->id))
		return cur; /* its stack pointer is stale: rt_fault says so */
	char sym[96];
	if (!plat_symbolize(regs->rip, sym, sizeof sym))
		ksnprintf(sym, sizeof sym, "?");
	if (rt_on_runtime_stack(regs->rsp)) {
		rt_print("runtime: %s in the runtime itself, on its own stack, at pc %#lx <%s>\n", what, regs->rip,
			 sym);
		rt_print("runtime: (while task %lu was current); no task is to blame: this is a bug\n", cur->id);
	} else if ((t = rt_stack_owner(regs->rsp))) {
		rt_print("runtime: %s on task %lu's stack at pc %#lx <%s>, but task %lu is current: a bug\n", what,
			 t->id, regs->rip, sym, cur->id);
	}
	return NULL;
}

/*
 * The platform's fault handler calls this for every fault, with the
 * faulting context in regs (and on Linux its vector lanes). See the
 * drawing at the top.
 */
enum rt_fault_action rt_fault(struct rt_regs *regs, uintptr_t addr, enum rt_fault_kind kind,
			      const char *what)
{
	struct rt_task *t = faulting_task(regs, what);
	if (!t)
		return RT_FAULT_NOT_OURS;
	if (regs->rsp < t->stack_lo - RT_STACK_GUARD || regs->rsp > t->stack_hi) {
		rt_print("runtime: task %lu (%s): %s with its stack pointer %#lx\n", t->id, t->name, what,
			 regs->rsp);
		rt_stack_print_where(regs->rsp, false);
		rt_print("runtime: the task runs on a stack it has moved away from: a longjmp, or a\n"
			 "runtime: context saved before the move (setjmp cannot cross a stack move)\n");
		return kill(t, regs, "its stack pointer is in its old stack (longjmp across a move?)");
	}
	if (kind == RT_FAULT_PAGE && addr >= t->stack_lo - RT_STACK_GUARD && addr < t->stack_lo)
		return grow(t, regs, addr);
	if (kind == RT_FAULT_DIVIDE)
		return to_panic(t, regs, "runtime error: integer divide by zero");
	if (kind == RT_FAULT_PAGE && addr < 65536)
		return to_panic(t, regs, "runtime error: invalid memory address or nil pointer dereference");

	char sym[96], reason[96];
	if (!plat_symbolize(regs->rip, sym, sizeof sym))
		ksnprintf(sym, sizeof sym, "?");
	rt_print("runtime: task %lu (%s): %s\n", t->id, t->name, what);
	rt_print("runtime:   at pc %#lx <%s>\n", regs->rip, sym);
	if (kind == RT_FAULT_PAGE) {
		rt_print("runtime:   address %#lx\n", addr);
		rt_stack_print_where(addr, true);
	}
	ksnprintf(reason, sizeof reason, "%s", what);
	return kill(t, regs, reason);
}

/* ---- the move-stress switch ---- */

bool rt_stress_moves;
static uint64_t stress_state = 0x9e3779b97f4a7c15ULL;
static uint64_t stress_count[3]; /* moves made: to a stack twice, as, half as large */

/* True if pc is in the runtime's own code (runtime.ld brackets it). */
static bool runtime_text(uintptr_t pc)
{
	extern char __rt_text_start[], __rt_text_end[];
	return pc >= (uintptr_t)__rt_text_start && pc < (uintptr_t)__rt_text_end;
}

/*
 * True if the interrupted context regs is t's own code on t's stack: %rsp
 * inside the stack, %rip in the program's code (not code outside it such
 * as libc, which may keep stack addresses where no scan sees them) and not
 * in the runtime's (which may be in the middle of changing a structure).
 * Where an interrupt may move t's stack (the stress tick) or kill it
 * (preempt.c). [fault-safe]
 */
bool rt_async_safe(struct rt_task *t, const struct rt_regs *regs)
{
	return regs->rsp >= t->stack_lo && regs->rsp <= t->stack_hi && plat_program_text(regs->rip) &&
	       !runtime_text(regs->rip);
}

/*
 * True if pc may be inside a stack-clash probe loop (its `orq $0x0,
 * disp(%rsp)` lies within 16 bytes either side): the loop's end register
 * may point below the guard, outside what a move adjusts, so a tick there
 * moves nothing (a fault in the loop decodes it instead: grow).
 */
static bool near_probe_loop(uintptr_t pc)
{
	if (!plat_program_text(pc - 16) || !plat_program_text(pc + 16))
		return true; /* cannot look: do not move */
	const uint8_t *p = (const uint8_t *)pc;
	for (int i = -16; i < 16; i++)
		if (p[i] == 0x48 && p[i + 1] == 0x83 && (p[i + 2] & 0x3f) == 0x0c && p[i + 3] == 0x24)
			return true;
	return false;
}

/*
 * From the platform's timer (an interrupt on its own stack, or a signal
 * on the signal stack), with the interrupted context: if a task's own code
 * was running, moves its stack at that instruction, as if it had faulted:
 * to a stack twice as large, as large (Go's mayMoreStackMove), or half as
 * large, at random. Only where rt_async_safe says the task's own code
 * runs (with %rsp in the guard, a probe loop's fault comes next anyway),
 * never in a probe loop (near_probe_loop). Growth stops at 8 times what is in use, so that stress does
 * not use up the stack addresses.
 */
bool rt_stress_tick(struct rt_regs *regs)
{
	struct rt_task *t = rt_current();
	if (!rt_stress_moves || !t || !rt_async_safe(t, regs) || near_probe_loop(regs->rip))
		return false;
	stress_state = stress_state * 6364136223846793005ULL + 1442695040888963407ULL;
	size_t size = t->stack_hi - t->stack_lo, used = t->stack_hi - (regs->rsp - RED_ZONE);
	int pick = (int)((stress_state >> 33) % 3); /* 0: twice, 1: as large, 2: half */
	if (pick == 0 && (size * 2 > rt_stack_limit || size * 2 > 8 * used + (64UL << 10)))
		pick = 1;
	/* A shrink keeps a page above what is in use: the task's next call faults and grows if it needs more. */
	if (pick == 2 && (size / 2 < RT_STACK_MIN || used + PLAT_PAGE > size / 2))
		pick = 1;
	size_t new_size = pick == 0 ? size * 2 : pick == 1 ? size : size / 2;
	if (!rt_stack_move(t, new_size, regs->rsp - RED_ZONE, regs, pick == 0))
		return false;
	stress_count[pick]++;
	return true;
}

/* How many moves the stress switch made: to stacks twice, as, and half as large. */
void rt_stress_counts(uint64_t counts[3])
{
	for (int i = 0; i < 3; i++)
		counts[i] = stress_count[i];
}
