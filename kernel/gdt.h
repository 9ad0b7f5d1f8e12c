/* gdt.h: segment selectors, interrupt stack slots and gdt_init (gdt.c). */
#ifndef MORESTACK_GDT_H
#define MORESTACK_GDT_H
#include <stdint.h>

#define SEG_KCODE 0x08
#define SEG_KDATA 0x10
#define SEG_TSS 0x28 /* takes two slots */

/* Interrupt Stack Table slots (1-based, as the IDT names them; the TSS has
 * seven: Intel SDM vol. 3A, 7.7, figure 7-11). IST_IRQ is every hardware
 * interrupt's: never the #PF stack, so a timer tick and a stack-growing
 * fault never share one (and neither nests: both are interrupt gates). */
enum { IST_DF = 1, IST_NMI, IST_MC, IST_PF, IST_FAULT, IST_IRQ, IST_COUNT = 6 };
#define IST_STACK_SIZE 16384

void gdt_init(void);
void ist_range(int n, uint64_t *lo, uint64_t *hi);
#endif
