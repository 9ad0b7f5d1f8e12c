/*
 * stop.c: Ctrl-C stops the running command, even a task in an endless
 * loop that never yields (the runtime's side is runtime/preempt.c).
 *
 *   Ctrl-C (PS/2 key or serial byte 0x03)
 *     │ input_push, in the keyboard's or the UART's interrupt handler
 *     ▼
 *   stop_key ── no command running? ──> typed: the line editor clears its line
 *     │ a command runs
 *     ├─> rt_stop_request: every task dies at its next safe point
 *     │     (yield, park, spawn, a channel operation)
 *     ├─> stop_at_interrupt, after this and every later interrupt (trap.c):
 *     │     rt_preempt kills the interrupted task at that instruction if its
 *     │     own code was running and the kernel holds nothing (below)
 *     ├─> a timer tick every STOP_RETRY_NS while tasks run (tick.c), so a
 *     │     task that was not at a safe point is tried again
 *     └─> stop_pending: the shell's own loops (churn, fuzz, ...) end early
 *   the command returns ──> stop_disarm: request cleared, "interrupted" said
 *
 * Invariants:
 *   - A task is killed only where the runtime says its own code runs
 *     (rt_async_safe) and the kernel holds none of its shared state: the
 *     frame allocator and page tables (kplat_stress_hold) or the console
 *     (console_busy), and it is not in lib/ (memcpy, memset, ksnprintf),
 *     which the runtime calls in the middle of its own work (an object
 *     half allocated, a record half filled). A task killed halfway
 *     through a kprintf would leave the screen's escape-sequence parser
 *     mid-sequence.
 *   - Everything here runs with interrupts off (interrupt gates, or the
 *     shell between commands) and allocates nothing; the rt_regs handed to
 *     the runtime live on the IST_IRQ stack.
 *   - A Ctrl-C with no command running is an ordinary byte: the prompt's
 *     line editor uses it to abandon the line.
 */
#include "console.h"
#include "kernel.h"
#include "stop.h"
#include "trap.h"

#include "platform.h"

#define RFLAGS_TF 0x100

static volatile bool armed, pending;
static uint64_t first_task; /* the command's first task: parked ones from here die too */

void stop_arm(void)
{
	pending = false;
	first_task = rt_next_task_id();
	armed = true;
}

bool stop_disarm(void)
{
	armed = false;
	bool was = pending;
	pending = false;
	rt_stop_clear();
	return was;
}

bool stop_key(void)
{
	if (!armed)
		return false;
	if (!pending) {
		pending = true;
		rt_stop_request("interrupted (Ctrl-C)", first_task);
		tick_soon(STOP_RETRY_NS);
	}
	return true;
}

bool stop_pending(void)
{
	return pending;
}

/* True if pc is in lib/'s code (kernel.ld brackets it). */
static bool lib_text(uint64_t pc)
{
	extern char __lib_text_start[], __lib_text_end[];
	return pc >= (uint64_t)__lib_text_start && pc < (uint64_t)__lib_text_end;
}

/* After an interrupt that came while a stop is pending. [fault-safe] */
void stop_at_interrupt(struct trapframe *tf)
{
	if (!pending || kplat_stress_hold || console_busy || lib_text(tf->rip))
		return;
	/* Every field the runtime reads is set by kplat_regs_from_trap; the
	 * 2 KiB of vector lanes are not used on this platform. */
	struct rt_regs r __attribute__((uninitialized));
	kplat_regs_from_trap(tf, &r);
	if (!rt_preempt(&r))
		return;
	kplat_regs_to_trap(&r, tf);
	/* A task stopped while a demo single-steps it must not carry the trap
	 * flag into the runtime that buries it. */
	tf->rflags &= ~(uint64_t)RFLAGS_TF;
}
