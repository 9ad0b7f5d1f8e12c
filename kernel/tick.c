/*
 * tick.c: the timer tick while tasks run, on IRQ 0 from the 8254 PIT.
 *
 * Two things want to interrupt a running task at an instruction of its
 * own: the move-stress switch (shell/stress.c moves its stack there) and a
 * stop request that found no safe point yet (stop.c tries again). Both
 * want ticks only while run_tasks runs tasks, so the tick is one-shot and
 * armed only then:
 *
 *   run_tasks ──tick_begin──> [tasks run, interrupts on] ──tick_end──> shell
 *                  │                 ▲      │
 *                  └─ arms ─> IRQ 0 ─┘      └─ each tick: the stress hook,
 *                             re-armed for       then (trap.c) the stop
 *                             the nearest want
 *
 * A driver that has no interrupt (xhci.c: the USB keyboard is polled)
 * sets a poll hook: from then on the tick also runs outside run_tasks,
 * every TICK_POLL_NS, so keys (and Ctrl-C, which stop_key needs at once)
 * arrive while a command runs and key repeat keeps time at the prompt.
 * The stress hook and the stop retry still count only while tasks run.
 *
 * Why the PIT and not the LAPIC timer: the PIC is already remapped and
 * used (kernel/pic.c), the PIT needs four port writes and no MMIO mapping
 * or calibration, and one-shot mode lets each tick be armed after the
 * previous handler returns, so a handler never runs back to back with
 * itself however long it takes.
 *
 * The 8254 Programmable Interval Timer (Intel 8254 datasheet, order no.
 * 231164): counter 0 at I/O port 0x40, the control word register at 0x43,
 * clocked at 1.193182 MHz; its OUT 0 is wired to IRQ 0 on PC hardware.
 * Control word 0x30: counter 0 (bits 7-6 = 00), read/write the low then
 * the high byte (bits 5-4 = 11), mode 0 "interrupt on terminal count"
 * (bits 3-1 = 000), binary (bit 0 = 0). In mode 0, writing the control
 * word sets OUT low; after the count is written it counts down and OUT
 * goes high at zero (the PIC's edge), and stays high: one tick per arming.
 */
#include "kernel.h"
#include "stop.h"
#include "trap.h"
#include "x86.h"

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182UL
#define PIT_MODE0_CH0 0x30

static struct {
	volatile bool running; /* tasks are running: ticks may be armed */
	tick_hook stress;      /* the move-stress switch, when on */
	void (*poll)(void);    /* a driver polled every TICK_POLL_NS (tick_set_poll) */
	uint64_t stress_due;   /* TSC: when the stress hook next wants to run */
} tk;

static uint64_t tsc_hz(void) { return boot_info.tsc_hz ? boot_info.tsc_hz : 1000000000UL; }
static uint64_t ns_to_tsc(uint64_t ns) { return ns / 1000 * (tsc_hz() / 1000000); }
static uint64_t tsc_to_ns(uint64_t t) { return t / (tsc_hz() / 1000000) * 1000; }

/* Arms one tick ns from now (at most the counter's 65535 periods, 55 ms). */
static void pit_arm(uint64_t ns)
{
	uint64_t count = ns * PIT_HZ / 1000000000UL;
	if (count < 2)
		count = 2;
	if (count > 0xffff)
		count = 0xffff;
	outb(PIT_CMD, PIT_MODE0_CH0);
	outb(PIT_CH0, (uint8_t)count);
	outb(PIT_CH0, (uint8_t)(count >> 8));
}

/* The nearest tick anyone wants, in ns from now; 0 for none. */
static uint64_t nearest(uint64_t stress_ns)
{
	uint64_t ns = stress_ns;
	if (stop_pending() && (!ns || ns > STOP_RETRY_NS))
		ns = STOP_RETRY_NS;
	return ns;
}

/* With the poll hook: at most TICK_POLL_NS away, tasks or not. */
static uint64_t with_poll(uint64_t ns)
{
	if (tk.poll && (!ns || ns > TICK_POLL_NS))
		ns = TICK_POLL_NS;
	return ns;
}

/* IRQ 0, on the IST_IRQ stack with interrupts off; tf is the interrupted
 * context. (trap.c gives it to the stop request after this returns.) */
static void tick_irq(int irq, struct trapframe *tf)
{
	(void)irq;
	if (tk.poll)
		tk.poll();
	/* Outside run_tasks only the poll re-arms (else the tick stays disarmed). */
	uint64_t ns = 0;
	if (tk.running) {
		uint64_t stress_ns = 0;
		if (tk.stress) {
			/* With the poll on, a tick may come before the stress hook's
			 * own time: the hook runs only when due, at its own rate. */
			uint64_t now = rdtsc();
			if (!tk.poll || now >= tk.stress_due) {
				stress_ns = tk.stress(tf);
				tk.stress_due = now + ns_to_tsc(stress_ns);
			} else {
				stress_ns = tsc_to_ns(tk.stress_due - now);
			}
		}
		ns = nearest(stress_ns);
	}
	ns = with_poll(ns);
	if (ns)
		pit_arm(ns);
}

void tick_init(void)
{
	pit_arm(1000000000UL); /* out of the firmware's periodic mode: one late tick, ignored */
	trap_set_irq_frame_handler(0, tick_irq);
	pic_unmask(0);
}

void tick_set_stress(tick_hook hook)
{
	tk.stress = hook;
}

/* From run_tasks, interrupts off, before the tasks run. */
void tick_begin(void)
{
	tk.running = true;
	uint64_t stress_ns = tk.stress ? tk.stress(NULL) : 0;
	tk.stress_due = rdtsc() + ns_to_tsc(stress_ns);
	uint64_t ns = with_poll(nearest(stress_ns));
	if (ns)
		pit_arm(ns);
}

/* After the tasks ran, interrupts off: a tick still pending does nothing. */
void tick_end(void)
{
	tk.running = false;
}

/* A tick within ns, if tasks are running (stop.c, as a request arrives). */
void tick_soon(uint64_t ns)
{
	if (tk.running)
		pit_arm(ns);
}

/* From a driver's init, interrupts off: hook from the next tick on. */
void tick_set_poll(void (*hook)(void))
{
	tk.poll = hook;
	pit_arm(TICK_POLL_NS);
}
