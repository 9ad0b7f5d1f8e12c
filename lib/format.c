/*
 * format.c: printf-style formatting into a buffer, for a kernel with no libc.
 * Supports %d %i %u %x %X %p %s %c %%, the flags '-', '0' and '#' (0x before
 * hex, always, and counted in the width), a width and
 * a precision (also as '*'), and the length modifiers l, ll and z.
 * Pure C: the host unit tests link it too.
 */
#include "format.h"

struct out {
	char *buf;
	size_t cap, len; /* len counts every byte, even those past cap */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

static void put_number(struct out *o, unsigned long long v, int neg, unsigned base, int upper,
		       int width, int zero, int left, int prefix)
{
	char tmp[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	int extra = (neg ? 1 : 0) + (prefix ? 2 : 0);
	if (!left && !zero)
		pad(o, ' ', width - n - extra);
	if (neg)
		put(o, '-');
	if (prefix) {
		put(o, '0');
		put(o, 'x');
	}
	if (!left && zero)
		pad(o, '0', width - n - extra);
	while (n)
		put(o, tmp[--n]);
}

int kvsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = { buf, cap, 0 };
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		int left = 0, zero = 0, alt = 0, width = 0, prec = -1, lng = 0;
		for (p++; *p == '-' || *p == '0' || *p == '#'; p++) {
			if (*p == '-') left = 1;
			else if (*p == '#') alt = 1;
			else zero = 1;
		}
		if (*p == '*') {
			width = va_arg(ap, int);
			p++;
		}
		for (; *p >= '0' && *p <= '9'; p++)
			width = width * 10 + (*p - '0');
		if (*p == '.') {
			prec = 0;
			p++;
			if (*p == '*') {
				prec = va_arg(ap, int);
				p++;
			}
			for (; *p >= '0' && *p <= '9'; p++)
				prec = prec * 10 + (*p - '0');
		}
		for (; *p == 'l' || *p == 'z'; p++)
			lng++;
		size_t start = o.len;
		switch (*p) {
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
			unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
			put_number(&o, u, v < 0, 10, 0, width, zero, left, 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			put_number(&o, v, 0, *p == 'u' ? 10 : 16, *p == 'X', width, zero, left,
				   alt && *p != 'u');
			break;
		}
		case 'p':
			put_number(&o, (unsigned long long)(uintptr_t)va_arg(ap, void *), 0, 16, 0, width,
				   zero, left, 1);
			break;
		case 'c':
			if (!left) pad(&o, ' ', width - 1);
			put(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s) s = "(null)";
			int n = 0;
			while (s[n] && (prec < 0 || n < prec))
				n++;
			if (!left) pad(&o, ' ', width - n);
			for (int i = 0; i < n; i++)
				put(&o, s[i]);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default: /* unknown conversion: print it as it stands */
			put(&o, '%');
			if (!*p) goto done;
			put(&o, *p);
			break;
		}
		if (left)
			pad(&o, ' ', width - (int)(o.len - start));
	}
done:
	if (cap)
		o.buf[o.len < cap ? o.len : cap - 1] = '\0';
	return (int)o.len;
}

int ksnprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}
