/*
 * console.c: where the kernel's text goes: the serial line and, once
 * fbcon_init has run, the screen (fbcon.c). Every printer calls
 * console_write.
 */
#include "console.h"
#include "fbcon.h"
#include "format.h"
#include "serial.h"

volatile int console_busy;

void console_write(const char *s, unsigned long n)
{
	console_busy++;
	serial_write(s, n);
	fbcon_write(s, n);
	console_busy--;
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
