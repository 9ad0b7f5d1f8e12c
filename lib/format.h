/* format.h: printf-style formatting into a buffer (format.c): the kernel's and the
 * runtime's only printf. */
#ifndef MORESTACK_FORMAT_H
#define MORESTACK_FORMAT_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
int kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "s" unless n is 1, for counts in messages: "%lu frame%s", n, plural(n). */
static inline const char *plural(uint64_t n) { return n == 1 ? "" : "s"; }
#endif
