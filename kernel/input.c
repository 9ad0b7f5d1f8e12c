/*
 * input.c: where the shell's input comes from. The serial line is read
 * directly; keyboard drivers (ps2.c, and a USB keyboard next) turn keys
 * into the bytes a terminal sends and push them here, from their
 * interrupt handlers. One queue, one reader: the shell (and the demos'
 * step mode) take bytes with input_getc with interrupts off, the drivers
 * push with interrupts off (interrupt gates), so no lock is needed.
 *
 *   serial UART ------------------------------.
 *   ps2.c (IRQ 1) --> input_push --> queue --> input_getc --> line editor
 */
#include "input.h"
#include "serial.h"

#define QUEUE 256
static uint8_t queue[QUEUE];
static unsigned head, tail; /* head: next to read; tail: next to write */

void input_push(uint8_t c)
{
	if (tail - head < QUEUE) /* full: the byte is dropped, as a terminal's would be */
		queue[tail++ % QUEUE] = c;
}

void input_push_string(const char *s)
{
	for (; *s; s++)
		input_push((uint8_t)*s);
}

/* With interrupts off (the shell's read_byte, step mode's wait): the
 * keyboard is polled too, as no IRQ 1 can come to fill the queue. */
int input_getc(void)
{
	int c = serial_getc();
	if (c >= 0)
		return c;
	if (head == tail)
		ps2_poll();
	if (head != tail)
		return queue[head++ % QUEUE];
	return -1;
}
