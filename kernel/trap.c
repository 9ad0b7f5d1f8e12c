/*
 * trap.c: what happens on every interrupt and exception.
 *
 * Hardware interrupts go to their handler. An exception in kernel context
 * is a bug: we print a report a student can act on (which exception and
 * why, where, every register, the call chain) and stop the machine. Under
 * the test harness (fw_cfg flag opt/morestack/exit-on-fault) we end QEMU
 * with exit status 99 instead, so a test sees the fault at once.
 */
#include "kernel.h"
#include "trap.h"
#include "gdt.h"
#include "stop.h"
#include "x86.h"

const char *const exception_names[32] = {
	"#DE divide error", "#DB debug", "NMI non-maskable interrupt", "#BP breakpoint",
	"#OF overflow", "#BR bound range exceeded", "#UD invalid opcode",
	"#NM device not available", "#DF double fault", "coprocessor segment overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack-segment fault",
	"#GP general protection", "#PF page fault", "reserved (15)", "#MF x87 floating-point",
	"#AC alignment check", "#MC machine check", "#XM SIMD floating-point",
	"#VE virtualization", "#CP control protection", "reserved (22)", "reserved (23)",
	"reserved (24)", "reserved (25)", "reserved (26)", "reserved (27)",
	"#HV hypervisor injection", "#VC VMM communication", "#SX security", "reserved (31)",
};

static fault_hook task_fault_hook, step_hook;
static irq_handler irq_handlers[16];
static irq_frame_handler irq_frame_handlers[16];
static int in_fault_report;

void trap_set_fault_hook(fault_hook hook) { task_fault_hook = hook; }
void trap_set_step_hook(fault_hook hook) { step_hook = hook; }
void trap_set_irq_handler(int irq, irq_handler h) { irq_handlers[irq] = h; }
void trap_set_irq_frame_handler(int irq, irq_frame_handler h) { irq_frame_handlers[irq] = h; }

/* The #PF error code in words (Intel SDM vol. 3A, 4.7, figure 4-12). */
static void print_page_fault_cause(uint64_t err, uint64_t cr2)
{
	const char *access = err & 0x10 ? "instruction fetch from" : err & 0x2 ? "write to" : "read from";
	const char *page = !(err & 0x1)   ? "a non-present page"
			   : err & 0x10   ? "a present page (no-execute)"
			   : err & 0x2    ? "a present page (read-only)"
					  : "a present page (protection)";
	kprintf("  cause: %s %s in %s mode%s%s%s\n", access, page, err & 0x4 ? "user" : "supervisor",
		err & 0x8 ? ", a reserved bit set in a paging entry" : "",
		err & 0x20 ? ", protection-key violation" : "",
		err & 0x40 ? ", shadow-stack access" : "");
	char where[160];
	if (vm_describe_address(cr2, where, sizeof where))
		kprintf("  address (CR2): %#018lx, %s\n", cr2, where);
	else
		kprintf("  address (CR2): %#018lx\n", cr2);
}

static void print_registers(const struct trapframe *tf)
{
	kprintf("  RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
	kprintf("  RSI=%016lx RDI=%016lx RBP=%016lx RSP=%016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->rsp);
	kprintf("  R8 =%016lx R9 =%016lx R10=%016lx R11=%016lx\n", tf->r8, tf->r9, tf->r10, tf->r11);
	kprintf("  R12=%016lx R13=%016lx R14=%016lx R15=%016lx\n", tf->r12, tf->r13, tf->r14, tf->r15);
	kprintf("  RIP=%016lx RFLAGS=%016lx CS=%04lx SS=%04lx\n", tf->rip, tf->rflags, tf->cs, tf->ss);
	kprintf("  CR0=%016lx CR2=%016lx CR3=%016lx CR4=%016lx\n", read_cr0(), read_cr2(), read_cr3(),
		read_cr4());
}

/*
 * Prints the fault report for tf and stops: halts, or under tests ends
 * QEMU with QEMU_EXIT_KERNEL_FAULT. `why` adds a line of context.
 */
_Noreturn void kernel_fault(struct trapframe *tf, const char *why)
{
	if (in_fault_report++) {
		/* A fault while reporting a fault: say so without touching anything else. */
		kprintf("\n*** fault %lu at %#lx while printing a fault report: halted\n", tf->vector,
			tf->rip);
		qemu_exit_if_testing(QEMU_EXIT_KERNEL_FAULT);
		halt_forever();
	}
	char where[128];
	symbolize(tf->rip, where, sizeof where);
	kprintf("\n*** kernel fault: %s (vector %lu), error code %#lx\n",
		tf->vector < 32 ? exception_names[tf->vector] : "unexpected interrupt", tf->vector,
		tf->error);
	if (why)
		kprintf("  %s\n", why);
	kprintf("  at RIP %#018lx <%s>\n", tf->rip, where);
	if (tf->vector == T_PAGE_FAULT)
		print_page_fault_cause(tf->error, read_cr2());
	if (tf->vector == T_GP && tf->error)
		kprintf("  the error code names segment selector %#lx\n", tf->error & ~(uint64_t)7);
	print_registers(tf);
	kprintf("  backtrace (frame pointers):\n");
	backtrace_print(tf->rip, tf->rbp, 32);
	kernel_halt("a fault in the kernel itself (above): nothing after it can be trusted");
}

/* Called by trapentry.S for every vector with the saved frame. */
void trap(struct trapframe *tf)
{
	if (tf->vector >= T_IRQ0 && tf->vector < T_IRQ0 + 16) {
		int irq = (int)(tf->vector - T_IRQ0);
		if (pic_spurious(irq))
			return;
		if (irq_frame_handlers[irq])
			irq_frame_handlers[irq](irq, tf);
		else if (irq_handlers[irq])
			irq_handlers[irq](irq);
		pic_eoi(irq);
		if (stop_pending())
			stop_at_interrupt(tf); /* Ctrl-C: stop the task interrupted here? */
		return;
	}
	if (tf->vector == T_DEBUG && step_hook && step_hook(tf))
		return;
	bool hookable = tf->vector < 32 && tf->vector != T_NMI && tf->vector != T_DOUBLE_FAULT &&
			tf->vector != T_MACHINE_CHECK;
	if (hookable && task_fault_hook && task_fault_hook(tf))
		return;
	if (tf->vector == T_DOUBLE_FAULT)
		kernel_fault(tf, "a fault happened while the CPU was delivering another one "
				 "(often a stack that is exhausted or unmapped)");
	kernel_fault(tf, NULL);
}
