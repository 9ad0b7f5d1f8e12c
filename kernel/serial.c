/*
 * serial.c: the COM1 16550 UART, the shell's terminal.
 * Registers at 0x3f8 + n (PC16550D datasheet): 0 data / divisor low,
 * 1 interrupt enable / divisor high, 2 FIFO control, 3 line control,
 * 4 modem control, 5 line status (bit 0 data ready, bit 5 transmit empty).
 */
#include "serial.h"
#include "x86.h"

#define COM1 0x3f8
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

static int present;

/* Sets 115200 8N1 with FIFOs, and raises IRQ 4 when a byte arrives. */
void serial_init(void)
{
	outb(COM1 + 1, 0x00);          /* no interrupts while programming */
	outb(COM1 + 3, 0x80);          /* DLAB on: divisor follows */
	outb(COM1 + 0, 1);             /* 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + 3, 0x03);          /* 8 bits, no parity, one stop bit */
	outb(COM1 + 2, 0xc7);          /* FIFOs on, cleared, 14-byte threshold */
	outb(COM1 + 4, 0x0b);          /* DTR, RTS, OUT2 (gates the IRQ line) */
	outb(COM1 + 1, 0x01);          /* interrupt on received data */
	present = inb(COM1 + 5) != 0xff; /* a missing UART floats the bus to 0xff */
}

void serial_putc(char c)
{
	if (!present)
		return;
	for (int spin = 0; spin < 100000 && !(inb(COM1 + 5) & LSR_THR_EMPTY); spin++)
		pause();
	outb(COM1, (uint8_t)c);
}

void serial_write(const char *s, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

/* Returns the next received byte, or -1 when none is waiting. */
int serial_getc(void)
{
	if (!present || !(inb(COM1 + 5) & LSR_DATA_READY))
		return -1;
	return inb(COM1);
}
