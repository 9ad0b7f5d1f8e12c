/*
 * idt.c: the Interrupt Descriptor Table (Intel SDM vol. 3A, 6.14.1).
 *
 * 256 interrupt gates, one per vector, each pointing at its 16-byte stub in
 * trapentry.S. Interrupt gates clear IF on entry. Four exceptions switch to
 * a stack of their own through the TSS's Interrupt Stack Table: #DF and #MC
 * (the current stack may be garbage), NMI (may arrive anywhere), #PF (may
 * be caused by running out of the current stack), and the faults a task
 * may cause (#DE, #DB, #BP, #UD, #GP, x87/SIMD/alignment), which share one.
 * Every vector from 32 up (the PIC's IRQs, anything else) has one more,
 * IST_IRQ: a task's stack never holds an interrupt frame, so tasks may run
 * with interrupts on, and a timer tick may move the interrupted task's
 * stack (shell/stress.c). An IST stack is not re-entrant (the CPU loads
 * the same top each time, SDM 6.14.5); these are safe because an interrupt
 * gate clears IF until iretq and no handler sets it again (SDM 6.12.1,
 * "Flag Usage By Exception- or Interrupt-Handler Procedure"), and a fault
 * inside a handler goes to another slot.
 */
#include <stdint.h>

#include "gdt.h"
#include "trap.h"

struct gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;   /* bits 0-2: IST slot, 0 = stay on the current stack */
	uint8_t type;  /* 0x8e: present, ring 0, 64-bit interrupt gate */
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

extern char trap_stubs[];
static struct gate idt[256];

static void set_gate(int vector, int ist)
{
	uint64_t addr = (uint64_t)(trap_stubs + 16 * vector);
	idt[vector] = (struct gate){
		.offset_lo = addr & 0xffff,
		.selector = SEG_KCODE,
		.ist = (uint8_t)ist,
		.type = 0x8e,
		.offset_mid = (addr >> 16) & 0xffff,
		.offset_hi = (uint32_t)(addr >> 32),
	};
}

/* Fills and loads the IDT. Called once at boot, after gdt_init. */
void idt_init(void)
{
	for (int v = 0; v < 256; v++)
		set_gate(v, v >= T_IRQ0 ? IST_IRQ : 0);
	set_gate(T_DOUBLE_FAULT, IST_DF);
	set_gate(T_NMI, IST_NMI);
	set_gate(T_MACHINE_CHECK, IST_MC);
	set_gate(T_PAGE_FAULT, IST_PF);
	/* Faults a task may cause: on a stack of their own, so a task whose
	 * stack is nearly full still gets its report (not a double fault). */
	static const int task_faults[] = { T_DIVIDE, T_DEBUG, T_BREAKPOINT, T_INVALID_OPCODE, T_GP, 16, 17, 19 };
	for (unsigned i = 0; i < sizeof task_faults / sizeof task_faults[0]; i++)
		set_gate(task_faults[i], IST_FAULT);
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof idt - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
