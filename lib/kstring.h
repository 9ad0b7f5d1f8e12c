/* kstring.h: the memory and string functions of lib/string.c (the kernel has no
 * libc; the Linux port uses libc's). */
#ifndef MORESTACK_KSTRING_H
#define MORESTACK_KSTRING_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
#endif
