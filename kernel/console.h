/* console.h: the kernel's printf (kprintf) and where its text goes (console.c). */
#ifndef MORESTACK_CONSOLE_H
#define MORESTACK_CONSOLE_H
#include <stdarg.h>
void console_write(const char *s, unsigned long n);
void kvprintf(const char *fmt, va_list ap);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
