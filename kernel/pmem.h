#ifndef MORESTACK_FRAME_H
#define MORESTACK_FRAME_H
#include <stddef.h>
#include <stdint.h>

/*
 * A physical frame allocator: one bit per 4 KiB frame between the lowest
 * and highest usable addresses (1 = free). Holes in the memory map are
 * simply bits that are never set, so fragmented maps and RAM above 4 GiB
 * need nothing special. The bitmap lives in memory the caller provides.
 */
struct frame_allocator {
	uint64_t *bitmap;
	uint64_t first;   /* frame number of bit 0 */
	uint64_t count;   /* frames covered by the bitmap */
	uint64_t free;    /* frames now free */
	uint64_t managed; /* frames ever added as free */
	uint64_t hint;    /* word index where the next search starts */
};

size_t frame_bitmap_bytes(uint64_t lo, uint64_t hi);
void frame_init(struct frame_allocator *fa, uint64_t lo, uint64_t hi, uint64_t *bitmap);
uint64_t frame_add_free(struct frame_allocator *fa, uint64_t base, uint64_t size);
uint64_t frame_reserve(struct frame_allocator *fa, uint64_t base, uint64_t size);
uint64_t frame_alloc(struct frame_allocator *fa);
uint64_t frame_alloc_run(struct frame_allocator *fa, uint64_t n);
int frame_free(struct frame_allocator *fa, uint64_t phys);
int frame_is_free(const struct frame_allocator *fa, uint64_t phys);
#endif
