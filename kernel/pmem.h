/* pmem.h: the physical page allocator (pmem.c). */
#ifndef MORESTACK_PMEM_H
#define MORESTACK_PMEM_H
#include <stddef.h>
#include <stdint.h>

/*
 * A physical page allocator: one bit per 4 KiB page between the lowest
 * and highest usable addresses (1 = free). Holes in the memory map are
 * simply bits that are never set, so fragmented maps and RAM above 4 GiB
 * need nothing special. The bitmap lives in memory the caller provides.
 */
struct pmem {
	uint64_t *bitmap;
	uint64_t first;   /* page number of bit 0 */
	uint64_t count;   /* pages covered by the bitmap */
	uint64_t free;    /* pages now free */
	uint64_t managed; /* pages ever added as free */
	uint64_t hint;    /* word index where the next search starts */
};

size_t pmem_bitmap_bytes(uint64_t lo, uint64_t hi);
void pmem_init(struct pmem *fa, uint64_t lo, uint64_t hi, uint64_t *bitmap);
uint64_t pmem_add_free(struct pmem *fa, uint64_t base, uint64_t size);
uint64_t pmem_reserve(struct pmem *fa, uint64_t base, uint64_t size);
uint64_t pmem_alloc(struct pmem *fa);
uint64_t pmem_alloc_run(struct pmem *fa, uint64_t n);
int pmem_free(struct pmem *fa, uint64_t phys);
int pmem_is_free(const struct pmem *fa, uint64_t phys);
#endif
