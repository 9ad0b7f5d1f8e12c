/*
 * gdt.c: the Global Descriptor Table and the Task State Segment.
 *
 * In long mode segmentation is almost gone (Intel SDM vol. 3A, 3.2.4): code
 * and data descriptors only say "64-bit, ring 0". The TSS still matters: its
 * Interrupt Stack Table gives chosen exceptions a known-good stack (SDM
 * 6.14.5). We use it for #DF, NMI, #MC and #PF, so a page fault taken on an
 * exhausted stack still has room to run; the runtime grows task stacks
 * from exactly that fault. Every hardware interrupt has a slot of its own
 * too (IST_IRQ): the CPU switches to it unconditionally, so no interrupt
 * ever pushes its frame on a task stack, which may be one page from its
 * guard and may move under the interrupted code (shell/stress.c).
 */
#include <stdint.h>

#include "gdt.h"
#include "kstring.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7]; /* ist[0] is IST1 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static uint64_t gdt[7];
static struct tss tss;
static uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

/* Loads the GDT, reloads every segment register and the task register. */
static void load_gdt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof gdt - 1, (uint64_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl %2, %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(SEG_KCODE), "i"(SEG_KDATA), "r"(SEG_TSS)
			 : "rax", "memory");
}

/* Builds the GDT and TSS and loads them. Called once, first thing at boot. */
void gdt_init(void)
{
	gdt[0] = 0;
	gdt[SEG_KCODE / 8] = 0x00af9a000000ffffULL; /* present, ring 0, code, L=1 */
	gdt[SEG_KDATA / 8] = 0x00cf92000000ffffULL; /* present, ring 0, data, writable */

	memset(&tss, 0, sizeof tss);
	for (int i = 0; i < IST_COUNT; i++)
		tss.ist[i] = (uint64_t)(ist_stacks[i] + IST_STACK_SIZE);
	tss.iomap_base = sizeof tss; /* no I/O permission bitmap */

	/* A 16-byte system descriptor: type 9 = available 64-bit TSS (SDM 7.2.3). */
	uint64_t base = (uint64_t)&tss, limit = sizeof tss - 1;
	gdt[SEG_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
			   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[SEG_TSS / 8 + 1] = base >> 32;
	load_gdt();
}

/* Returns the [lo, hi) range of IST stack n (1-based, as in the IDT), for fault reports. */
void ist_range(int n, uint64_t *lo, uint64_t *hi)
{
	*lo = (uint64_t)ist_stacks[n - 1];
	*hi = *lo + IST_STACK_SIZE;
}
