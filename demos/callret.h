/*
 * callret.h: the call-and-return twins (callret_twin.c, built with -O0)
 * and their listing (generated at build time by tools/listing.py from
 * objdump's disassembly of that object file).
 */
#ifndef MORESTACK_CALLRET_H
#define MORESTACK_CALLRET_H
#include <stdint.h>

struct callret_pair {
	int64_t r1, r2; /* two results: C returns them in rax and rdx */
};

extern volatile int64_t callret_seen[4];
void callret_A(void);
void callret_B(int64_t c, int64_t d);
void callret_A2(void);
struct callret_pair callret_B2(int64_t p1, int64_t p2);
int64_t callret_C(int64_t p1);
void callret_pushes(void);

/* One instruction of the listing: at fn + off, its text as objdump wrote it
 * (AT&T syntax; relocated operands named by their symbols). */
struct callret_insn {
	const void *fn;
	const char *fn_name;
	uint32_t off, len;
	const char *text;
};
extern const struct callret_insn callret_listing[];
extern const unsigned callret_listing_n;
#endif
