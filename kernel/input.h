/* input.h: the bytes the shell reads, from every keyboard (input.c). */
#ifndef MORESTACK_INPUT_H
#define MORESTACK_INPUT_H
#include <stdbool.h>
#include <stdint.h>

int input_getc(void);                 /* the next byte, or -1 */
void input_drain_serial(void);        /* the UART's bytes into the queue (IRQ 4) */
void input_push(uint8_t c);           /* from a keyboard driver's interrupt */
void input_push_string(const char *s);
void ps2_init(void);
bool ps2_ready(void);
void ps2_poll(void);
#endif
