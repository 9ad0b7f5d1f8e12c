/* fbcon.h: the console on the GOP framebuffer (fbcon.c). */
#ifndef MORESTACK_FBCON_H
#define MORESTACK_FBCON_H
#include <stdbool.h>

void fbcon_init(void);
void fbcon_write(const char *s, unsigned long n);
bool fbcon_active(void);
void fbcon_describe(char *buf, unsigned long cap);
/* Draws every cell again: what each jump scroll costs (bench). */
void fbcon_redraw(void);
#endif
