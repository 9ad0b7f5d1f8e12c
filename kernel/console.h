/* console.h: the kernel's printf (kprintf) and where its text goes (console.c). */
#ifndef MORESTACK_CONSOLE_H
#define MORESTACK_CONSOLE_H
#include <stdarg.h>
void console_write(const char *s, unsigned long n);
/* Starts the screen console (fbcon_init) and draws what was printed before. */
void console_start_screen(void);
/* Nonzero while console_write runs: an interrupt must not stop the task
 * printing (kernel/stop.c), or the screen would be left mid-sequence. */
extern volatile int console_busy;
void kvprintf(const char *fmt, va_list ap);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
