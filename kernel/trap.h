/* trap.h: the trap frame trapentry.S builds, and the handlers' interface (trap.c). */
#ifndef MORESTACK_TRAP_H
#define MORESTACK_TRAP_H
#include <stdbool.h>
#include <stdint.h>

/* What trapentry.S leaves on the stack; lowest address first. */
struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

#define T_DIVIDE 0
#define T_DEBUG 1 /* #DB: after each instruction while RFLAGS.TF is set */
#define T_NMI 2
#define T_BREAKPOINT 3
#define T_INVALID_OPCODE 6
#define T_DOUBLE_FAULT 8
#define T_GP 13
#define T_PAGE_FAULT 14
#define T_MACHINE_CHECK 18
#define T_IRQ0 32 /* the 8259 PICs are remapped to 32..47 */

void idt_init(void);
void trap(struct trapframe *tf);

/*
 * A fault hook sees every exception but NMI, #DF and #MC first, and returns
 * true when it dealt with it (it may rewrite the frame: the runtime grows a
 * task's stack, or kills the task and resumes another). It runs on an IST
 * stack: it must not fault, allocate from the faulting stack, or take a
 * lock a task may hold.
 */
typedef bool (*fault_hook)(struct trapframe *tf);
void trap_set_fault_hook(fault_hook hook);
/* The single-step hook: called for every #DB before anything else. It
 * returns true if the trap was its own (it may leave RFLAGS.TF set in tf,
 * and the next instruction traps again); false leaves it to the fault hook. */
void trap_set_step_hook(fault_hook hook);
extern const char *const exception_names[32];

typedef void (*irq_handler)(int irq);
void trap_set_irq_handler(int irq, irq_handler h);
/* The same, for a handler that needs the interrupted context (it may
 * rewrite it, as the move-stress tick does). Runs on the IST_IRQ stack,
 * interrupts off; the EOI is sent after it returns. */
typedef void (*irq_frame_handler)(int irq, struct trapframe *tf);
void trap_set_irq_frame_handler(int irq, irq_frame_handler h);

_Noreturn void kernel_fault(struct trapframe *tf, const char *why);
#endif
