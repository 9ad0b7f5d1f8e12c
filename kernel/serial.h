/* serial.h: the COM1 UART (serial.c). */
#ifndef MORESTACK_SERIAL_H
#define MORESTACK_SERIAL_H
void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, unsigned long n);
int serial_getc(void);
#endif
