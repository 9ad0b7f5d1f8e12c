/*
 * pic.c: the two legacy 8259A interrupt controllers.
 *
 * At power-on they deliver IRQ 0-15 on vectors 8-15 and 0x70-0x77, on top of
 * CPU exceptions; we remap them to 32-47 (T_IRQ0) and mask every line but
 * those we use. Initialization words per the 8259A datasheet: ICW1 starts
 * the sequence, ICW2 sets the vector base, ICW3 wires the cascade, ICW4 8086 mode.
 */
#include "kernel.h"
#include "trap.h"
#include "x86.h"

#define PIC1 0x20
#define PIC2 0xa0

static uint16_t mask = 0xffff;

static void write_mask(void)
{
	outb(PIC1 + 1, (uint8_t)mask);
	outb(PIC2 + 1, (uint8_t)(mask >> 8));
}

void pic_init(void)
{
	outb(PIC1 + 1, 0xff);
	outb(PIC2 + 1, 0xff);
	outb(PIC1, 0x11);
	outb(PIC2, 0x11);
	outb(PIC1 + 1, T_IRQ0);
	outb(PIC2 + 1, T_IRQ0 + 8);
	outb(PIC1 + 1, 1 << 2); /* the slave hangs on IRQ 2 */
	outb(PIC2 + 1, 2);
	outb(PIC1 + 1, 0x01);
	outb(PIC2 + 1, 0x01);
	mask = 0xffff & ~(1 << 2);
	write_mask();
}

void pic_unmask(int irq)
{
	mask &= (uint16_t)~(1 << irq);
	write_mask();
}

/* OCW1 (the interrupt mask register): a set bit masks its line. */
void pic_mask(int irq)
{
	mask |= (uint16_t)(1 << irq);
	write_mask();
}

/*
 * IRQ 7 (and 15) also arrive spuriously: when a line drops before the CPU
 * acknowledges it, the PIC sends its lowest-priority vector anyway, without
 * setting the in-service bit. Such an IRQ gets no EOI, except that a
 * spurious IRQ 15 still needs one at the master, which saw a real IRQ 2.
 */
bool pic_spurious(int irq)
{
	if (irq != 7 && irq != 15)
		return false;
	uint16_t port = irq == 7 ? PIC1 : PIC2;
	outb(port, 0x0b); /* OCW3: next read returns the in-service register */
	if (inb(port) & 0x80)
		return false;
	if (irq == 15)
		outb(PIC1, 0x20);
	return true;
}

void pic_eoi(int irq)
{
	if (irq >= 8)
		outb(PIC2, 0x20);
	outb(PIC1, 0x20);
}
