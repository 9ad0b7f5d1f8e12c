/*
 * stress.c: the move-stress switch on bare metal: `stress on [HZ] | off`.
 *
 * While it is on and tasks run (run_tasks), the 8254 timer's channel 0
 * raises IRQ 0 through the 8259 PIC, and the handler gives the interrupted
 * context to rt_stress_tick (runtime/stackfault.c), which moves the
 * running task's stack at that instruction if the task's own code was
 * running there. The runtime decides what is a task's code; a tick in the
 * shell, on the runtime stack or in a fault handler does nothing:
 *
 *   - the shell and the runtime stack: rt_stress_tick finds no current
 *     task, or a %rsp outside the current task's stack;
 *   - a fault handler: it cannot be interrupted at all (interrupt gates
 *     clear IF), and its IST stack (IST_PF, IST_FAULT) is not the one this
 *     handler runs on (IST_IRQ, kernel/idt.c);
 *   - kernel code a task runs on its own stack while it changes the frame
 *     allocator or the page tables (kplat_stress_hold): a move maps pages.
 *
 * The handler obeys the fault path's rules: it allocates nothing (the
 * context it hands over, struct rt_regs, is on its IST stack) and takes no
 * lock; the move commits pages from the platform's pool, as a fault does.
 *
 * The tick is kernel/tick.c's one-shot PIT tick, asked for again at each
 * tick for the interval or four times as long as the last move took,
 * whichever is longer (as the Linux port does): a move of a large stack
 * takes milliseconds under TCG, and a periodic tick shorter than that
 * would leave the task no time to run at all.
 */
#include "kernel.h"
#include "shell.h"
#include "stop.h"
#include "trap.h"
#include "x86.h"

#include "platform.h"
#include "rt.h"

#define STRESS_HZ_DEFAULT 5000
#define STRESS_HZ_MIN 20 /* a 16-bit count at 1.19 MHz reaches down to 18.2 Hz */
#define STRESS_HZ_MAX 20000

static struct {
	bool installed;           /* the tick's stress hook set */
	uint64_t hz, interval_ns;
	uint64_t ticks, moved, held, last_move_ns, max_move_ns;
} st = { .hz = STRESS_HZ_DEFAULT, .interval_ns = 1000000000UL / STRESS_HZ_DEFAULT };

/*
 * The tick's stress hook: on the IST_IRQ stack with interrupts off, tf the
 * interrupted context (NULL when tick_begin only asks for the first
 * interval). Returns the ns until the next tick.
 */
static uint64_t stress_tick(struct trapframe *tf)
{
	if (!tf)
		return st.interval_ns;
	st.ticks++;
	uint64_t took = 0;
	if (kplat_stress_hold) {
		st.held++;
	} else {
		struct rt_regs r;
		kplat_regs_from_trap(tf, &r);
		uint64_t t0 = plat_now_ns();
		if (rt_stress_tick(&r)) {
			kplat_regs_to_trap(&r, tf);
			took = plat_now_ns() - t0;
			st.moved++;
			st.last_move_ns = took;
			if (took > st.max_move_ns)
				st.max_move_ns = took;
		}
	}
	return 4 * took > st.interval_ns ? 4 * took : st.interval_ns;
}

static void print_state(void)
{
	uint64_t c[3];
	rt_stress_counts(c);
	if (!rt_stress_moves)
		kprintf("stress: off");
	else
		kprintf("stress: on, %lu Hz: a tick %lu us after the last (or 4 times the last move's "
			"time), only while tasks run", st.hz, st.interval_ns / 1000);
	kprintf("\nstress: %lu ticks, %lu moved a stack (%lu larger, %lu same size, %lu smaller), "
		"%lu held off; longest move %lu us\n", st.ticks, st.moved, c[0], c[1], c[2], st.held,
		st.max_move_ns / 1000);
}

void cmd_stress(int argc, char **argv)
{
	uint64_t hz = STRESS_HZ_DEFAULT;
	bool on = argc >= 2 && strcmp(argv[1], "on") == 0, off = argc == 2 && strcmp(argv[1], "off") == 0;
	if (argc == 3 && on && (parse_u64(argv[2], &hz) != 0 || hz < STRESS_HZ_MIN || hz > STRESS_HZ_MAX)) {
		kprintf("stress: '%s' is not a tick rate: HZ is %d to %d ticks a second (default %d)\n",
			argv[2], STRESS_HZ_MIN, STRESS_HZ_MAX, STRESS_HZ_DEFAULT);
		return;
	}
	if (argc > 3 || (argc >= 2 && !on && !off)) {
		kprintf("stress: usage: stress [on [HZ] | off] (HZ: %d to %d, default %d); with no "
			"argument, the state\n", STRESS_HZ_MIN, STRESS_HZ_MAX, STRESS_HZ_DEFAULT);
		return;
	}
	if (on) {
		if (!st.installed) {
			tick_set_stress(stress_tick);
			st.installed = true;
		}
		st.hz = hz;
		st.interval_ns = 1000000000UL / hz;
		rt_stress_moves = true;
	} else if (off) {
		rt_stress_moves = false;
		if (st.installed) {
			tick_set_stress(NULL);
			st.installed = false;
		}
	}
	print_state();
}
