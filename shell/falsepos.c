/*
 * falsepos.c: the `falsepos [N]` command: how often ordinary data looks
 * like a stack address to the stack mover, on this machine's addresses
 * (docs/stack-moves.md; the Linux port's twin is tests/rt/test_falsepos.c).
 *
 * Draws N words of each class of everyday data (tests/fuzz/wordclasses.c)
 * and counts those rt_stack_word_could_point accepts. Then, for every live
 * task's stack, builds the worst case of each structured class from real
 * stack addresses (upper bits kept, the bits a class controls replaced by
 * its values) and counts those accepted: both must be 0 for every
 * structured class.
 */
#include "kernel.h"
#include "shell.h"
#include "stop.h"

#include "platform.h"
#include "rt.h"
#include "wordclasses.h"

/* Worst cases built from the live stacks; returns how many were accepted, *tried how many tried. */
static uint64_t worst_cases(uint64_t *tried)
{
	uint64_t accepted = 0;
	*tried = 0;
	for (struct rt_task *t = rt_tasks(); t; t = t->all_next) {
		if (t->state == RT_DONE || !t->stack_lo)
			continue;
		for (uint64_t p = t->stack_lo - RT_STACK_GUARD; p <= t->stack_hi; p += 4093) {
			for (int64_t v = -(1L << 30) + 1; v < (1L << 30); v += (1L << 30) / 7) {
				accepted += rt_stack_word_could_point((p & ~0xffffffffUL) | (uint32_t)v);
				accepted += rt_stack_word_could_point((p & ~0xffff0000UL) |
								      ((uint64_t)(uint16_t)(v >> 16 & 0x3fff) << 16));
				*tried += 2;
			}
			for (int b = -63; b < 64; b += 9, ++*tried)
				accepted += rt_stack_word_could_point((p & ~0xff000000UL) | (uint64_t)(uint8_t)b << 24);
		}
	}
	return accepted;
}

void cmd_falsepos(int argc, char **argv)
{
	uint64_t n = 1000000;
	if (argc > 2 || (argc == 2 && (parse_u64(argv[1], &n) != 0 || n == 0 || n > 100000000))) {
		kprintf("falsepos: usage: falsepos [N] (1 to 100000000 words a class; default 1000000)\n");
		return;
	}
	uint64_t possible = rt_stack_words_possible();
	kprintf("falsepos: %lu words a class; %lu MiB of stack addresses handed out, %lu words could "
		"point into a stack\n", n, possible >> 20, possible);
	uint64_t structured_hits = 0;
	for (unsigned i = 0; i < wordclass_count; i++) {
		if (stop_pending()) {
			kprintf("falsepos: Ctrl-C: stopped after %u of %u classes; no verdict\n", i,
				wordclass_count);
			return;
		}
		const struct wordclass *c = &wordclasses[i];
		uint64_t hits = wordclass_scan(c, 0x5eed0000 + i, n);
		kprintf("  %-40s %lu of %lu%s\n", c->name, hits, n, c->structured ? " (0 by construction)" : "");
		if (c->structured)
			structured_hits += hits;
	}
	/* The floor for random words, possible / 2^64, as a power of two. */
	int log2 = 63;
	while (log2 > 0 && !(possible >> log2))
		log2--;
	kprintf("  floor for random words: about 2^%d of every 2^64 words (2^%d)\n", log2, log2 - 64);
	uint64_t tried, accepted = worst_cases(&tried);
	kprintf("falsepos: worst cases from live stacks: %lu tried, %lu accepted\n", tried, accepted);
	kprintf("falsepos: %s\n", structured_hits || accepted ? "FAILED: ordinary data taken for a pointer"
							     : "ok, no ordinary data looks like a stack address");
}
