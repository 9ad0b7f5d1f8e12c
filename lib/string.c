/*
 * string.c: the memory and string functions gcc may call on its own
 * (memcpy, memmove, memset, memcmp) and a few the kernel uses.
 * String instructions: -mgeneral-regs-only forbids SSE copies. Whole
 * aligned quadwords go eight bytes an iteration (rep movsq / stosq): page
 * copies and clears, the runtime's stack moves; the rest byte by byte.
 */
#include <stddef.h>
#include <stdint.h>

#include "kstring.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	if ((((uintptr_t)dst | (uintptr_t)src | n) & 7) == 0) {
		size_t q = n / 8;
		__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
		return dst;
	}
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	if ((((uintptr_t)dst | n) & 7) == 0) {
		uint64_t v = (uint8_t)c * 0x0101010101010101ULL;
		size_t q = n / 8;
		__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
		return dst;
	}
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n && *a && *a == *b; n--)
		a++, b++;
	return n ? (unsigned char)*a - (unsigned char)*b : 0;
}
