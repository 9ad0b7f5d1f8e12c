/*
 * wordclasses.c: the corpora (see wordclasses.h). Each class draws words
 * the way everyday data looks in memory, little-endian: magnitudes are
 * log-uniform (small values are far more common than large ones), signs
 * are even, text is printable ASCII with or without NUL padding.
 */
#include "wordclasses.h"

#include "platform.h"
#include "rt.h"

static uint64_t next(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A signed value with |v| < 2^bits, log-uniform in magnitude. */
static int64_t small(uint64_t *s, unsigned bits)
{
	uint64_t r = next(s);
	unsigned width = (unsigned)(r % (bits + 1));       /* how many bits the magnitude has */
	uint64_t mag = width ? (next(s) >> (64 - width)) : 0;
	if (width && mag >= (1ULL << (bits)) )
		mag = (1ULL << bits) - 1;
	return (r >> 32) & 1 ? -(int64_t)mag : (int64_t)mag;
}

static uint64_t draw_int64(uint64_t *s) { return (uint64_t)small(s, 40); }
static uint64_t draw_int32(uint64_t *s) { return (uint64_t)(int64_t)(int32_t)small(s, 31); }

static uint64_t draw_pair32(uint64_t *s)
{
	uint32_t a = (uint32_t)small(s, 30), b = (uint32_t)small(s, 30);
	return (uint64_t)b << 32 | a;
}

static uint64_t draw_quad16(uint64_t *s)
{
	uint64_t w = 0;
	for (int i = 0; i < 4; i++)
		w |= (uint64_t)(uint16_t)small(s, 14) << (16 * i);
	return w;
}

static uint64_t draw_octet8(uint64_t *s)
{
	uint64_t w = 0;
	for (int i = 0; i < 8; i++)
		w |= (uint64_t)(uint8_t)small(s, 6) << (8 * i);
	return w;
}

/* 8 printable characters, or 1..7 of them then NULs (a string's last word). */
static uint64_t draw_text(uint64_t *s)
{
	uint64_t r = next(s), w = 0;
	unsigned len = r % 2 ? 8 : 1 + (unsigned)(r >> 8) % 7;
	for (unsigned i = 0; i < len; i++)
		w |= (uint64_t)(0x20 + next(s) % 95) << (8 * i);
	return w;
}

/* Doubles of everyday magnitude, 2^-30 to 2^50 (1e-9 to 1e15), either
 * sign, built from their bits (the kernel has no floating point): sign,
 * an exponent in that range, any mantissa. */
static uint64_t draw_double(uint64_t *s)
{
	uint64_t r = next(s);
	uint64_t exponent = 1023 - 30 + r % 80, sign = (r >> 8) & 1;
	return sign << 63 | exponent << 52 | (next(s) >> 12);
}

static uint64_t draw_random(uint64_t *s) { return next(s); }

const struct wordclass wordclasses[] = {
	{ "64-bit integers, |v| < 2^40", 1, draw_int64 },
	{ "int32 widened, |v| < 2^31", 1, draw_int32 },
	{ "pairs of int32, |v| < 2^30", 1, draw_pair32 },
	{ "quads of int16, |v| < 2^14", 1, draw_quad16 },
	{ "eight int8, |v| < 64", 1, draw_octet8 },
	{ "ASCII text, NUL-padded or not", 1, draw_text },
	{ "doubles, 2^-30 to 2^50 (1e-9 to 1e15)", 1, draw_double },
	{ "uniformly random words", 0, draw_random },
};
const unsigned wordclass_count = sizeof wordclasses / sizeof wordclasses[0];

uint64_t wordclass_scan(const struct wordclass *c, uint64_t seed, uint64_t n)
{
	uint64_t s = seed, hits = 0;
	for (uint64_t i = 0; i < n; i++)
		hits += rt_stack_word_could_point(c->draw(&s));
	return hits;
}
