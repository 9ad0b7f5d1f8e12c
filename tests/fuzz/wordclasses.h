/*
 * wordclasses.h: corpora of ordinary data, class by class, scanned for
 * words the stack mover could take for pointers (rt_stack_word_could_point).
 * The Linux port's tests/rt/test_falsepos.c runs it; docs/stack-moves.md
 * explains the classes and the figures.
 */
#ifndef MORESTACK_WORDCLASSES_H
#define MORESTACK_WORDCLASSES_H
#include <stdint.h>

struct wordclass {
	const char *name;      /* what the words are */
	int structured;        /* 1: the windows exclude it by construction */
	uint64_t (*draw)(uint64_t *state);
};

extern const struct wordclass wordclasses[];
extern const unsigned wordclass_count;

/* Draws n words of class c from seed; returns how many could point into a stack. */
uint64_t wordclass_scan(const struct wordclass *c, uint64_t seed, uint64_t n);
#endif
