/*
 * pmem.c: the physical page allocator (see pmem.h for the design).
 * Pure C; the kernel glue that feeds it the UEFI memory map is in memmap.c.
 * Physical address 0 is never handed out, so 0 can mean "no page".
 */
#include "pmem.h"

#include "kstring.h"

#define PMEM_PAGE 4096ULL
#define BITS 64

/* Bytes of bitmap needed to cover physical addresses [lo, hi). */
size_t pmem_bitmap_bytes(uint64_t lo, uint64_t hi)
{
	uint64_t pages = (hi + PMEM_PAGE - 1) / PMEM_PAGE - lo / PMEM_PAGE;
	return (size_t)((pages + BITS - 1) / BITS * 8);
}

/* Covers [lo, hi) with every page marked in use; add free RAM with pmem_add_free. */
void pmem_init(struct pmem *fa, uint64_t lo, uint64_t hi, uint64_t *bitmap)
{
	fa->bitmap = bitmap;
	fa->first = lo / PMEM_PAGE;
	fa->count = (hi + PMEM_PAGE - 1) / PMEM_PAGE - fa->first;
	fa->free = fa->managed = fa->hint = 0;
	memset(bitmap, 0, pmem_bitmap_bytes(lo, hi));
}

static int get(const struct pmem *fa, uint64_t i)
{
	return (fa->bitmap[i / BITS] >> (i % BITS)) & 1;
}

static void set(struct pmem *fa, uint64_t i, int v)
{
	if (v)
		fa->bitmap[i / BITS] |= 1ULL << (i % BITS);
	else
		fa->bitmap[i / BITS] &= ~(1ULL << (i % BITS));
}

/* Clips [base, base+size) to whole pages inside the bitmap; returns page indexes. */
static int clip(const struct pmem *fa, uint64_t base, uint64_t size, uint64_t *from,
		uint64_t *to)
{
	/* Round base up without computing base + PMEM_PAGE - 1: near 2^64 that
	 * wraps to a small address and would free the whole bitmap. */
	uint64_t a = base / PMEM_PAGE + (base % PMEM_PAGE != 0), b = (base + size) / PMEM_PAGE;
	if (base + size < base) /* wraps: take all up to the top */
		b = ~0ULL / PMEM_PAGE;
	if (a < fa->first) a = fa->first;
	if (b > fa->first + fa->count) b = fa->first + fa->count;
	if (a == 0 && fa->first == 0) a = 1; /* page 0 stays in use forever */
	if (a >= b)
		return 0;
	*from = a - fa->first;
	*to = b - fa->first;
	return 1;
}

/* Marks the whole pages inside [base, base+size) free. Returns how many changed. */
uint64_t pmem_add_free(struct pmem *fa, uint64_t base, uint64_t size)
{
	uint64_t from, to, n = 0;
	if (!clip(fa, base, size, &from, &to))
		return 0;
	for (uint64_t i = from; i < to; i++)
		if (!get(fa, i)) {
			set(fa, i, 1);
			n++;
		}
	fa->free += n;
	fa->managed += n;
	return n;
}

/* Marks every page touching [base, base+size) in use. Returns how many changed. */
uint64_t pmem_reserve(struct pmem *fa, uint64_t base, uint64_t size)
{
	/* An end past 2^64 means "to the top"; rounding it up must not wrap to 0. */
	uint64_t end = base + size < base ? ~0ULL : base + size;
	uint64_t lo = base & ~(PMEM_PAGE - 1);
	uint64_t hi = end > ~0ULL - (PMEM_PAGE - 1) ? ~0ULL : (end + PMEM_PAGE - 1) & ~(PMEM_PAGE - 1);
	uint64_t from, to, n = 0;
	if (!clip(fa, lo, hi - lo, &from, &to))
		return 0;
	for (uint64_t i = from; i < to; i++)
		if (get(fa, i)) {
			set(fa, i, 0);
			n++;
		}
	fa->free -= n;
	fa->managed -= n;
	return n;
}

/* Returns the physical address of a free page, now in use, or 0 if none is left. */
uint64_t pmem_alloc(struct pmem *fa)
{
	uint64_t words = (fa->count + BITS - 1) / BITS;
	for (uint64_t k = 0; k < words; k++) {
		uint64_t w = (fa->hint + k) % words;
		if (fa->bitmap[w]) {
			uint64_t i = w * BITS + (uint64_t)__builtin_ctzll(fa->bitmap[w]);
			set(fa, i, 0);
			fa->free--;
			fa->hint = w;
			return (fa->first + i) * PMEM_PAGE;
		}
	}
	return 0;
}

/* Returns the address of n physically contiguous free pages, now in use, or 0. */
uint64_t pmem_alloc_run(struct pmem *fa, uint64_t n)
{
	if (n == 0 || n > fa->free)
		return 0;
	uint64_t run = 0;
	for (uint64_t i = 0; i < fa->count; i++) {
		if (!fa->bitmap[i / BITS] && i % BITS == 0 && i + BITS <= fa->count) {
			run = 0;
			i += BITS - 1;
			continue;
		}
		run = get(fa, i) ? run + 1 : 0;
		if (run == n) {
			uint64_t start = i + 1 - n;
			for (uint64_t j = start; j <= i; j++)
				set(fa, j, 0);
			fa->free -= n;
			return (fa->first + start) * PMEM_PAGE;
		}
	}
	return 0;
}

/*
 * Gives a page back. Returns 0, or -1 if phys is not a page this
 * allocator handed out (unaligned, outside the bitmap, or already free).
 */
int pmem_free(struct pmem *fa, uint64_t phys)
{
	uint64_t f = phys / PMEM_PAGE;
	if (phys % PMEM_PAGE || phys == 0 || f < fa->first || f - fa->first >= fa->count ||
	    get(fa, f - fa->first))
		return -1;
	set(fa, f - fa->first, 1);
	fa->free++;
	return 0;
}

/* Returns 1 if the page at phys is free, 0 if in use or outside. */
int pmem_is_free(const struct pmem *fa, uint64_t phys)
{
	uint64_t f = phys / PMEM_PAGE;
	return f >= fa->first && f - fa->first < fa->count && get(fa, f - fa->first);
}
