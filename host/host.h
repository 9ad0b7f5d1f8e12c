#ifndef MORESTACK_HOST_H
#define MORESTACK_HOST_H
#include <stddef.h>
void host_init(void);
extern void (*host_console)(const char *s, size_t n); /* NULL: stderr */
#endif
