/*
 * input.c: where the shell's input comes from. The serial line is read
 * directly; keyboard drivers (ps2.c, xhci.c's USB keyboards) turn keys
 * into the bytes a terminal sends and push them here, from their
 * interrupt handlers (or, for USB, the polling). One queue, one reader: the shell (and the demos'
 * step mode) take bytes with input_getc with interrupts off, the drivers
 * push with interrupts off (interrupt gates), so no lock is needed.
 *
 *   serial UART (IRQ 4) ---.
 *   ps2.c (IRQ 1) ----------+--> input_push --> queue --> input_getc --> line editor
 *   xhci.c (polled: by      |         |
 *     input_getc, and the   |         `--> Ctrl-C while a command runs: stop_key (stop.c)
 *     timer tick) ----------'
 *
 * The UART is drained into the queue, by its interrupt and by input_getc,
 * so its bytes and the keyboards' keep the order they came in, and a
 * Ctrl-C on the serial line is seen while a command runs.
 */
#include "input.h"
#include "serial.h"
#include "stop.h"
#include "usb.h"
#include "x86.h"

#define QUEUE 256
static uint8_t queue[QUEUE];
static volatile unsigned head, tail; /* head: next to read; tail: next to write */

/* With interrupts off (a driver's interrupt handler, or input_getc). */
void input_push(uint8_t c)
{
	if (c == 0x03 && stop_key())
		return; /* Ctrl-C stopped the running command; not typed */
	if (tail - head < QUEUE) /* full: the byte is dropped, as a terminal's would be */
		queue[tail++ % QUEUE] = c;
}

/* Moves what the UART received into the queue (IRQ 4, and input_getc),
 * as long as there is room: what does not fit waits in the UART, whose
 * full FIFO holds the sender back (QEMU stops reading its end; a real
 * line's sender overruns it, as it would without the queue). */
void input_drain_serial(void)
{
	int c;
	while (tail - head < QUEUE && (c = serial_getc()) >= 0)
		input_push((uint8_t)c);
}

void input_push_string(const char *s)
{
	for (; *s; s++)
		input_push((uint8_t)*s);
}

/* The next byte, or -1. The UART and the keyboard are polled too, for
 * callers that run with interrupts off (the shell's read_byte); interrupts
 * are off while it pushes, so it and a driver's handler never both do. */
int input_getc(void)
{
	uint64_t flags = read_rflags();
	cli();
	input_drain_serial();
	if (head == tail) {
		ps2_poll();
		usb_poll(); /* the USB keyboard has no interrupt here: polled */
		usb_service(); /* and a keyboard plugged in is enumerated here */
	}
	int c = head != tail ? queue[head++ % QUEUE] : -1;
	if (flags & 0x200)
		sti();
	return c;
}
