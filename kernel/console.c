/*
 * console.c: where the kernel's text goes: the serial line and, once
 * fbcon_init has run, the screen (fbcon.c). Every printer calls
 * console_write. What is printed before the screen starts (the banner,
 * the memory map's lines) is kept and drawn when it does
 * (console_start_screen), so a PC with no serial port shows the whole
 * boot log.
 */
#include "console.h"
#include "fbcon.h"
#include "format.h"
#include "kstring.h"
#include "serial.h"

volatile int console_busy;

static struct {
	bool started;         /* the screen draws what is written */
	unsigned long len;    /* bytes kept before it started */
	unsigned long lost;   /* ... and bytes that did not fit */
	char text[4096];
} early;

void console_write(const char *s, unsigned long n)
{
	console_busy++;
	serial_write(s, n);
	if (early.started) {
		fbcon_write(s, n);
	} else {
		unsigned long room = sizeof early.text - early.len, take = n < room ? n : room;
		memcpy(early.text + early.len, s, take);
		early.len += take;
		early.lost += n - take;
	}
	console_busy--;
}

void console_start_screen(void)
{
	fbcon_init();
	early.started = true;
	fbcon_write(early.text, early.len);
	if (early.lost)
		kprintf("[console: %lu bytes printed before the screen started are not shown]\n",
			early.lost);
}

void kvprintf(const char *fmt, va_list ap)
{
	char buf[512];
	va_list ap2;
	va_copy(ap2, ap);
	int n = kvsnprintf(buf, sizeof buf, fmt, ap2);
	va_end(ap2);
	if (n < (int)sizeof buf) {
		console_write(buf, (unsigned long)n);
		return;
	}
	console_write(buf, sizeof buf - 1);
	console_write("...[cut]\n", 9);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
