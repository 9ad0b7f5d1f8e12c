/*
 * test_pagetable.c: building, walking and auditing 4-level page tables
 * (kernel/pagetable.c) in a host "physical memory" arena.
 *
 * The arena is one 16 MiB block; a physical address is an offset into it.
 * Frames are handed out from 0x1000 up, so 0 still means "no memory", and
 * a frame limit makes the allocator run dry on purpose. The mappings' own
 * physical addresses are just numbers: nothing reads the memory they name.
 */
#include "unit.h"

#include "pagetable.h"

#define ARENA_SIZE (16UL << 20)
#define K4 0x1000UL
#define M2 (2UL << 20)
#define G1 (1UL << 30)

struct arena {
	uint8_t *mem;
	uint64_t next;   /* next free frame */
	uint64_t limit;  /* allocation fails at or past this offset */
	unsigned allocs; /* frames handed out */
	struct pt_env env;
	uint64_t pml4;
};

/* A zeroed frame from the arena, or 0 when the limit is reached. */
static uint64_t arena_alloc(void *ctx)
{
	struct arena *a = ctx;
	if (a->next + K4 > a->limit)
		return 0;
	uint64_t p = a->next;
	a->next += K4;
	a->allocs++;
	memset(a->mem + p, 0, K4);
	return p;
}

/* Page tables must only ever point inside the arena. */
static void *arena_ptr(void *ctx, uint64_t phys)
{
	struct arena *a = ctx;
	if (phys < K4 || phys >= a->next || phys % K4)
		fail_msg("phys_to_virt(%#lx): not a table frame of the arena", (unsigned long)phys);
	return a->mem + phys;
}

static unsigned tables_freed;

static void count_free(void *ctx, uint64_t phys)
{
	struct arena *a = ctx;
	assert_true(phys >= K4 && phys < a->next && phys % K4 == 0);
	tables_freed++;
}

static void count_remaining(void *arg, const struct pt_leaf *leaf)
{
	(void)leaf;
	(*(unsigned *)arg)++;
}

/* Unmapping a range for good frees the tables it emptied, and only those. */
static void test_unmap_prune_frees_empty_tables(void **state)
{
	struct arena *a = *state;
	const uint64_t base = 0xffffc00000000000UL;
	unsigned before = a->allocs;
	/* Two stacks in one 2 MiB block, one in another 1 GiB block. */
	assert_int_equal(pt_map(&a->env, a->pml4, base + 0x11000, 0x200000, 2 * K4, PTE_W | PTE_NX, 0), PT_OK);
	assert_int_equal(pt_map(&a->env, a->pml4, base + 0x30000, 0x300000, K4, PTE_W | PTE_NX, 0), PT_OK);
	assert_int_equal(pt_map(&a->env, a->pml4, base + G1, 0x400000, K4, PTE_W | PTE_NX, 0), PT_OK);
	unsigned made = a->allocs - before; /* PDPT, 2 PDs, 2 PTs */
	assert_int_equal(made, 5);
	tables_freed = 0;
	/* The first stack goes: its PT still holds the second, nothing is freed. */
	assert_int_equal(pt_unmap_prune(&a->env, a->pml4, base + 0x11000, 2 * K4, ~0UL, count_free), PT_OK);
	assert_int_equal(tables_freed, 0);
	/* The second goes, but its tables reach keep_from: they stay for reuse. */
	assert_int_equal(pt_unmap_prune(&a->env, a->pml4, base + 0x30000, K4, base + 0x31000, count_free), PT_OK);
	assert_int_equal(tables_freed, 0);
	/* Pruning again once addresses have moved past: its PT and PD empty out;
	 * the PDPT still holds the third. */
	assert_int_equal(pt_unmap_prune(&a->env, a->pml4, base + 0x30000, K4, base + G1, count_free), PT_OK);
	assert_int_equal(tables_freed, 2);
	struct pt_walk w;
	pt_walk(&a->env, a->pml4, base + G1, &w);
	assert_true(w.mapped);
	/* The last one: PT, PD and PDPT all go; the PML4 entry is cleared. */
	assert_int_equal(pt_unmap_prune(&a->env, a->pml4, base + G1, K4, ~0UL, count_free), PT_OK);
	assert_int_equal(tables_freed, 5);
	assert_int_equal(((uint64_t *)(a->mem + a->pml4))[(base >> 39) & 511], 0);
	unsigned leaves = 0;
	pt_for_each(&a->env, a->pml4, count_remaining, &leaves);
	assert_int_equal(leaves, 0);
	assert_int_equal(pt_unmap_prune(&a->env, a->pml4, base + 1, K4, ~0UL, count_free), PT_BADARG);
}

/* Tables kept at the frontier are freed by a later prune, which unmaps nothing. */
static void test_prune_frees_tables_left_at_the_old_frontier(void **state)
{
	struct arena *a = *state;
	const uint64_t base = 0xffffc00000000000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, base + 0x10000, 0x200000, K4, PTE_W | PTE_NX, 0), PT_OK);
	assert_int_equal(pt_map(&a->env, a->pml4, base + 0x20000, 0x300000, K4, PTE_W | PTE_NX, 0), PT_OK);
	tables_freed = 0;
	/* The frontier is at base + 0x21000: the stack at 0x20000 goes, its tables stay. */
	assert_int_equal(pt_unmap_prune(&a->env, a->pml4, base + 0x20000, K4, base + 0x21000, count_free), PT_OK);
	assert_int_equal(tables_freed, 0);
	/* The frontier moves on; the stack at 0x10000 is still mapped: nothing is freed or unmapped. */
	assert_int_equal(pt_prune(&a->env, a->pml4, base, 0x200000, base + G1 + 0x200000, count_free), PT_OK);
	assert_int_equal(tables_freed, 0);
	struct pt_walk w;
	pt_walk(&a->env, a->pml4, base + 0x10000, &w);
	assert_true(w.mapped);
	/* Once it goes too, its PT and PD are freed by the unmap's own prune
	 * (the PDPT reaches past the frontier and stays). */
	assert_int_equal(pt_unmap_prune(&a->env, a->pml4, base + 0x10000, K4, base + G1 + 0x200000, count_free), PT_OK);
	assert_int_equal(tables_freed, 2);
	/* And a table emptied while it held the frontier, pruned after the frontier left it. */
	assert_int_equal(pt_map(&a->env, a->pml4, base + 0x30000, 0x400000, K4, PTE_W | PTE_NX, 0), PT_OK);
	tables_freed = 0;
	assert_int_equal(pt_unmap_prune(&a->env, a->pml4, base + 0x30000, K4, base + 0x31000, count_free), PT_OK);
	assert_int_equal(tables_freed, 0);
	assert_int_equal(pt_prune(&a->env, a->pml4, base + 0x30000, K4, base + G1, count_free), PT_OK);
	assert_int_equal(tables_freed, 2); /* its PT and PD; the PDPT reaches past the frontier */
	assert_int_equal(pt_prune(&a->env, a->pml4, base + 1, K4, ~0UL, count_free), PT_BADARG);
}

static int setup(void **state)
{
	struct arena *a = calloc(1, sizeof *a);
	if (!a)
		return -1;
	a->mem = aligned_alloc(4096, ARENA_SIZE);
	if (!a->mem) {
		free(a);
		return -1;
	}
	memset(a->mem, 0xcc, ARENA_SIZE); /* tables must be zeroed on allocation */
	a->next = K4;
	a->limit = ARENA_SIZE;
	a->env = (struct pt_env){ arena_alloc, arena_ptr, a };
	a->pml4 = arena_alloc(a);
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	struct arena *a = *state;
	free(a->mem);
	free(a);
	return 0;
}

/* The table of `level` (4 = PML4) on the way to va; it must exist. */
static uint64_t *table_at(struct arena *a, uint64_t va, int level)
{
	uint64_t t = a->pml4;
	for (int l = 4; l > level; l--) {
		uint64_t e = ((uint64_t *)(a->mem + t))[(va >> (12 + 9 * (l - 1))) & 511];
		assert_true(e & PTE_P);
		t = e & PTE_ADDR;
	}
	return (uint64_t *)(a->mem + t);
}

static unsigned idx(uint64_t va, int level)
{
	return (unsigned)((va >> (12 + 9 * (level - 1))) & 511);
}

static void walk(struct arena *a, uint64_t va, struct pt_walk *w)
{
	memset(w, 0x5a, sizeof *w);
	pt_walk(&a->env, a->pml4, va, w);
}

static void test_canonical(void **state)
{
	(void)state;
	assert_true(va_is_canonical(0));
	assert_true(va_is_canonical(0x1000));
	assert_true(va_is_canonical(0x00007fffffffffffUL));
	assert_false(va_is_canonical(0x0000800000000000UL));
	assert_false(va_is_canonical(0x0000ffffffffffffUL));
	assert_false(va_is_canonical(0x0001000000000000UL));
	assert_false(va_is_canonical(0x7fffffffffffffffUL));
	assert_false(va_is_canonical(0x8000000000000000UL));
	assert_false(va_is_canonical(0xffff7fffffffffffUL));
	assert_false(va_is_canonical(0xfffe800000000000UL));
	assert_true(va_is_canonical(0xffff800000000000UL));
	assert_true(va_is_canonical(0xffffffff80000000UL));
	assert_true(va_is_canonical(0xffffffffffffffffUL));
}

/* 4 KiB pages: every level of the walk, the leaf entry and the rights. */
static void test_map_4k_and_walk(void **state)
{
	struct arena *a = *state;
	uint64_t va = 0x0000123456789000UL, pa = 0x12345000;
	assert_int_equal(pt_map(&a->env, a->pml4, va, pa, 3 * K4, PTE_W | PTE_NX, 0), PT_OK);
	assert_int_equal(a->allocs, 4); /* PML4 + PDPT + PD + PT */
	struct pt_walk w;
	for (int i = 0; i < 3; i++) {
		uint64_t v = va + (uint64_t)i * K4 + 0x234;
		walk(a, v, &w);
		assert_int_equal(w.mapped, 1);
		assert_int_equal(w.steps, 4);
		assert_int_equal(w.page_size, K4);
		assert_int_equal(w.phys, pa + (uint64_t)i * K4 + 0x234);
		assert_int_equal(w.writable, 1);
		assert_int_equal(w.executable, 0);
		assert_int_equal(w.user, 0);
		for (int s = 0; s < 4; s++) {
			assert_int_equal(w.step[s].level, 4 - s);
			assert_int_equal(w.step[s].index, idx(v, 4 - s));
			assert_true(w.step[s].entry & PTE_P);
		}
		assert_int_equal(w.step[0].table, a->pml4);
		for (int s = 1; s < 4; s++)
			assert_int_equal(w.step[s].table, w.step[s - 1].entry & PTE_ADDR);
		/* Upper levels: P|W, no NX; the leaf: exactly what was asked. */
		for (int s = 0; s < 3; s++)
			assert_int_equal(w.step[s].entry & ~PTE_ADDR, PTE_P | PTE_W);
		assert_int_equal(w.step[3].entry, (pa + (uint64_t)i * K4) | PTE_P | PTE_W | PTE_NX);
	}
	assert_int_equal(idx(va, 4), 0x24);
	assert_int_equal(idx(va, 3), 0xd1);
	assert_int_equal(idx(va, 2), 0xb3);
	assert_int_equal(idx(va, 1), 0x189);

	/* Read-only executable: rights follow the leaf. */
	assert_int_equal(pt_map(&a->env, a->pml4, va + 8 * K4, 0x7000, K4, 0, 0), PT_OK);
	walk(a, va + 8 * K4, &w);
	assert_int_equal(w.mapped, 1);
	assert_int_equal(w.writable, 0);
	assert_int_equal(w.executable, 1);
	assert_int_equal(a->allocs, 4); /* same PT: no new tables */
}

/* Flags outside the leaf bits are dropped: no address bits, no PS on a 4 KiB page. */
static void test_map_masks_flags(void **state)
{
	struct arena *a = *state;
	assert_int_equal(pt_map(&a->env, a->pml4, 0x400000, 0x5000, K4,
				PTE_W | PTE_PS | 0x000ffffffffff000UL, 0),
			 PT_OK);
	uint64_t e = table_at(a, 0x400000, 1)[idx(0x400000, 1)];
	assert_int_equal(e, 0x5000 | PTE_P | PTE_W);
}

/* 2 MiB pages where alignment allows, 4 KiB pages for the rest. */
static void test_map_large(void **state)
{
	struct arena *a = *state;
	uint64_t va = 0xffff800000000000UL, pa = 0x40000000;
	assert_int_equal(pt_map(&a->env, a->pml4, va, pa, 2 * M2 + 2 * K4, PTE_W | PTE_NX,
				PT_MAP_LARGE),
			 PT_OK);
	assert_int_equal(a->allocs, 4); /* PML4, PDPT, PD, and one PT for the tail */
	struct pt_walk w;
	walk(a, va + M2 + 0x12345, &w);
	assert_int_equal(w.mapped, 1);
	assert_int_equal(w.steps, 3);
	assert_int_equal(w.page_size, M2);
	assert_int_equal(w.phys, pa + M2 + 0x12345);
	assert_true(w.step[2].entry & PTE_PS);
	assert_int_equal(w.step[2].entry & PTE_ADDR, pa + M2);
	assert_int_equal(w.writable, 1);
	assert_int_equal(w.executable, 0);
	walk(a, va + 2 * M2 + K4 + 8, &w);
	assert_int_equal(w.mapped, 1);
	assert_int_equal(w.steps, 4);
	assert_int_equal(w.page_size, K4);
	assert_int_equal(w.phys, pa + 2 * M2 + K4 + 8);
	walk(a, va + 2 * M2 + 2 * K4, &w);
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 4);

	/* pa not 2 MiB aligned: 4 KiB pages all the way. */
	uint64_t va2 = 0xffff800040000000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, va2, 0x80001000, M2, 0, PT_MAP_LARGE), PT_OK);
	walk(a, va2 + M2 - 1, &w);
	assert_int_equal(w.mapped, 1);
	assert_int_equal(w.page_size, K4);
	assert_int_equal(w.phys, 0x80001000 + M2 - 1);
	/* va not 2 MiB aligned: 4 KiB up to the boundary, then large. */
	uint64_t va3 = 0xffff800080000000UL - K4;
	assert_int_equal(pt_map(&a->env, a->pml4, va3, 0xc0000000 - K4, M2 + K4, 0, PT_MAP_LARGE),
			 PT_OK);
	walk(a, va3, &w);
	assert_int_equal(w.page_size, K4);
	walk(a, va3 + K4, &w);
	assert_int_equal(w.page_size, M2);
	assert_int_equal(w.phys, 0xc0000000);
	/* Without PT_MAP_LARGE, aligned ranges still get 4 KiB pages. */
	uint64_t va4 = 0xffff800100000000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, va4, 0x100000000UL, M2, 0, 0), PT_OK);
	walk(a, va4 + 5 * K4, &w);
	assert_int_equal(w.page_size, K4);
}

/* Unmapped addresses: mapped = 0, and the walk stops at the first absent entry. */
static void test_walk_unmapped(void **state)
{
	struct arena *a = *state;
	struct pt_walk w;
	walk(a, 0x400000, &w);
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 1);
	assert_int_equal(w.step[0].level, 4);
	assert_int_equal(w.step[0].entry, 0);
	assert_int_equal(w.step[0].table, a->pml4);

	assert_int_equal(pt_map(&a->env, a->pml4, 0x400000, 0x1000, K4, PTE_W, 0), PT_OK);
	walk(a, 0x401000, &w); /* same PT, empty slot */
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 4);
	assert_int_equal(w.step[3].entry, 0);
	assert_int_equal(w.step[3].index, 1);
	walk(a, 0x40000000, &w); /* same PDPT, empty PD slot... */
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 2);
	walk(a, 0x600000, &w); /* same PD, empty slot */
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 3);
	walk(a, 0x8000000000UL, &w); /* next PML4 slot */
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 1);
	assert_int_equal(w.step[0].index, 1);
	walk(a, 0, &w); /* same PD as 0x400000, empty slot */
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 3);
}

/*
 * Rights combine over the levels: writable only if every entry has W,
 * executable only if none has NX, user only if all have U.
 */
static void test_walk_combines_levels(void **state)
{
	struct arena *a = *state;
	uint64_t va = 0xffffffff80000000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, va, 0x200000, K4, PTE_W | PTE_U, 0), PT_OK);
	struct pt_walk w;
	walk(a, va, &w);
	assert_int_equal(w.writable, 1);
	assert_int_equal(w.executable, 1);
	assert_int_equal(w.user, 0); /* the upper levels are supervisor only */

	uint64_t *pd = &table_at(a, va, 2)[idx(va, 2)];
	*pd &= ~PTE_W;
	walk(a, va, &w);
	assert_int_equal(w.mapped, 1);
	assert_int_equal(w.writable, 0);
	assert_int_equal(w.executable, 1);
	*pd |= PTE_W;

	uint64_t *pml4e = &table_at(a, va, 4)[idx(va, 4)];
	*pml4e |= PTE_NX;
	walk(a, va, &w);
	assert_int_equal(w.writable, 1);
	assert_int_equal(w.executable, 0);
	*pml4e &= ~PTE_NX;

	*pml4e |= PTE_U;
	table_at(a, va, 3)[idx(va, 3)] |= PTE_U;
	*pd |= PTE_U;
	walk(a, va, &w);
	assert_int_equal(w.user, 1);
	assert_int_equal(w.executable, 1);
}

/* A 1 GiB page (a PDPTE with PS), written by hand: pt_map never makes one. */
static void test_walk_1g_page(void **state)
{
	struct arena *a = *state;
	uint64_t va = 0xffff804000000000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, va + G1, 0x1000, K4, 0, 0), PT_OK);
	table_at(a, va, 3)[idx(va, 3)] = 0x40000000 | PTE_P | PTE_W | PTE_PS | PTE_NX;
	struct pt_walk w;
	walk(a, va + 0x12345678, &w);
	assert_int_equal(w.mapped, 1);
	assert_int_equal(w.steps, 2);
	assert_int_equal(w.page_size, G1);
	assert_int_equal(w.phys, 0x40000000 + 0x12345678);
	assert_int_equal(w.writable, 1);
	assert_int_equal(w.executable, 0);
	/* Mapping inside it is refused, small or large. */
	assert_int_equal(pt_map(&a->env, a->pml4, va + M2, 0x1000, K4, 0, 0), PT_EXISTS);
	assert_int_equal(pt_map(&a->env, a->pml4, va, 0, M2, 0, PT_MAP_LARGE), PT_EXISTS);
}

/* Never replace a mapping: same page, a page inside a large one, a large page over a table. */
static void test_map_exists(void **state)
{
	struct arena *a = *state;
	assert_int_equal(pt_map(&a->env, a->pml4, 0x400000, 0x1000, K4, PTE_W, 0), PT_OK);
	assert_int_equal(pt_map(&a->env, a->pml4, 0x400000, 0x1000, K4, PTE_W, 0), PT_EXISTS);
	assert_int_equal(pt_map(&a->env, a->pml4, 0x400000, 0x9000, K4, 0, 0), PT_EXISTS);
	assert_int_equal(pt_map(&a->env, a->pml4, 0x3ff000, 0x9000, 2 * K4, 0, 0), PT_EXISTS);
	assert_int_equal(pt_map(&a->env, a->pml4, 0x400000, 0x200000, M2, 0, PT_MAP_LARGE),
			 PT_EXISTS);
	assert_int_equal(pt_map(&a->env, a->pml4, 0x800000, 0x200000, M2, 0, PT_MAP_LARGE), PT_OK);
	assert_int_equal(pt_map(&a->env, a->pml4, 0x801000, 0x1000, K4, 0, 0), PT_EXISTS);
	assert_int_equal(pt_map(&a->env, a->pml4, 0x800000, 0x200000, M2, 0, PT_MAP_LARGE),
			 PT_EXISTS);
	/* The refused calls changed nothing. */
	struct pt_walk w;
	walk(a, 0x400000, &w);
	assert_int_equal(w.phys, 0x1000);
	assert_int_equal(w.writable, 1);
	walk(a, 0x801000, &w);
	assert_int_equal(w.page_size, M2);
	assert_int_equal(w.phys, 0x201000);
}

static void test_map_badarg(void **state)
{
	struct arena *a = *state;
	const struct pt_env *e = &a->env;
	uint64_t r = a->pml4;
	assert_int_equal(pt_map(e, r, 0x400001, 0x1000, K4, 0, 0), PT_BADARG);
	assert_int_equal(pt_map(e, r, 0x400000, 0x1800, K4, 0, 0), PT_BADARG);
	assert_int_equal(pt_map(e, r, 0x400000, 0x1000, 0x800, 0, 0), PT_BADARG);
	assert_int_equal(pt_map(e, r, 0x0000800000000000UL, 0x1000, K4, 0, 0), PT_BADARG);
	assert_int_equal(pt_map(e, r, 0xffff7ffffffff000UL, 0x1000, K4, 0, 0), PT_BADARG);
	/* The range runs off the end of the lower half into the hole. */
	assert_int_equal(pt_map(e, r, 0x00007ffffffff000UL, 0x1000, 2 * K4, 0, 0), PT_BADARG);
	/* Both ends canonical, but the range spans the whole hole. */
	assert_int_equal(pt_map(e, r, 0x00007ffffffff000UL, 0x1000, 0xffff000000002000UL, 0, 0),
			 PT_BADARG);
	/* The range wraps past 2^64 to page 0. */
	assert_int_equal(pt_map(e, r, 0xfffffffffffff000UL, 0x1000, 2 * K4, 0, 0), PT_BADARG);
	assert_int_equal(a->allocs, 1); /* no table was built for any of them */
	struct pt_walk w;
	walk(a, 0, &w);
	assert_int_equal(w.mapped, 0);
	/* An empty range is a no-op, even at the very top. */
	assert_int_equal(pt_map(e, r, 0xfffffffffffff000UL, 0x1000, 0, 0, 0), PT_OK);
	assert_int_equal(pt_unmap(e, r, 0xfffffffffffff000UL, 0), PT_OK);
	assert_int_equal(a->allocs, 1);
	/* The last page of each half is fine. */
	assert_int_equal(pt_map(e, r, 0x00007ffffffff000UL, 0x1000, K4, 0, 0), PT_OK);
	assert_int_equal(pt_map(e, r, 0xfffffffffffff000UL, 0x1000, K4, 0, 0), PT_OK);
}

/* Out of table memory: PT_NOMEM, and whatever was mapped before still is. */
static void test_map_nomem(void **state)
{
	struct arena *a = *state;
	a->limit = a->next + 2 * K4; /* room for a PDPT and a PD, not a PT */
	assert_int_equal(pt_map(&a->env, a->pml4, 0x400000, 0x1000, K4, 0, 0), PT_NOMEM);
	struct pt_walk w;
	walk(a, 0x400000, &w);
	assert_int_equal(w.mapped, 0);
	/* A 2 MiB page needs no PT: it fits. */
	assert_int_equal(pt_map(&a->env, a->pml4, 0x600000, 0x600000, M2, 0, PT_MAP_LARGE), PT_OK);
	walk(a, 0x600000, &w);
	assert_int_equal(w.mapped, 1);
	/* Part of a range maps before memory runs out. */
	a->limit = a->next + K4;
	assert_int_equal(pt_map(&a->env, a->pml4, 0x9ff000, 0x1000, 3 * K4, 0, 0), PT_NOMEM);
	walk(a, 0x9ff000, &w);
	assert_int_equal(w.mapped, 1);
	walk(a, 0xa00000, &w);
	assert_int_equal(w.mapped, 0);
	/* With memory back, the rest maps (the first page already exists). */
	a->limit = ARENA_SIZE;
	assert_int_equal(pt_map(&a->env, a->pml4, 0xa00000, 0x2000, 2 * K4, 0, 0), PT_OK);
	walk(a, 0xa01000, &w);
	assert_int_equal(w.phys, 0x3000);
}

static void test_unmap(void **state)
{
	struct arena *a = *state;
	uint64_t va = 0xffffffff80000000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, va, 0x100000, 3 * K4, PTE_W, 0), PT_OK);
	assert_int_equal(pt_unmap(&a->env, a->pml4, va + K4, K4), PT_OK);
	struct pt_walk w;
	walk(a, va, &w);
	assert_int_equal(w.mapped, 1);
	walk(a, va + K4, &w);
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 4);
	assert_int_equal(w.step[3].entry, 0);
	walk(a, va + 2 * K4, &w);
	assert_int_equal(w.mapped, 1);
	/* The hole can be mapped again, to somewhere else. */
	assert_int_equal(pt_map(&a->env, a->pml4, va + K4, 0x900000, K4, 0, 0), PT_OK);
	walk(a, va + K4, &w);
	assert_int_equal(w.phys, 0x900000);
	/* Unmapping what is not mapped, even without tables, is fine. */
	assert_int_equal(pt_unmap(&a->env, a->pml4, 0x400000, 16 * K4), PT_OK);
	assert_int_equal(pt_unmap(&a->env, a->pml4, va, 3 * K4), PT_OK);
	walk(a, va + 2 * K4, &w);
	assert_int_equal(w.mapped, 0);
	assert_int_equal(pt_unmap(&a->env, a->pml4, va + 1, K4), PT_BADARG);
	assert_int_equal(pt_unmap(&a->env, a->pml4, va, 0x800), PT_BADARG);
}

/* pt_leaf_entry: the leaf entry of a page, and its 2 MiB's next entries after it. */
static void test_leaf_entry(void **state)
{
	struct arena *a = *state;
	uint64_t va = 0x0000100000200000UL - 2 * K4; /* the last two pages of a 2 MiB */
	assert_null(pt_leaf_entry(&a->env, a->pml4, va, 0)); /* no tables, none made */
	unsigned before = a->allocs;
	uint64_t *e = pt_leaf_entry(&a->env, a->pml4, va, 1);
	assert_non_null(e);
	assert_int_equal(a->allocs - before, 3); /* PDPT, PD and PT */
	assert_ptr_equal(e, &table_at(a, va, 1)[idx(va, 1)]);
	e[0] = 0x700000 | PTE_P | PTE_W;
	e[1] = 0x701000 | PTE_P;
	struct pt_walk w;
	walk(a, va + K4 + 5, &w);
	assert_int_equal(w.mapped, 1);
	assert_int_equal(w.phys, 0x701005);
	assert_int_equal(w.writable, 0);
	/* Once made, found without making; the next 2 MiB has its own table. */
	assert_ptr_equal(pt_leaf_entry(&a->env, a->pml4, va + K4, 0), e + 1);
	assert_null(pt_leaf_entry(&a->env, a->pml4, va + 2 * K4, 0));
	/* Out of frames: NULL, and nothing half made. */
	a->limit = a->next;
	assert_null(pt_leaf_entry(&a->env, a->pml4, va + 2 * K4, 1));
	/* A large page in the way, and a non-canonical address: no entry. */
	a->limit = ARENA_SIZE;
	assert_int_equal(pt_map(&a->env, a->pml4, 0x40000000, 0x40000000, LARGE_2M, PTE_W, PT_MAP_LARGE),
			 PT_OK);
	assert_null(pt_leaf_entry(&a->env, a->pml4, 0x40000000 + K4, 1));
	assert_null(pt_leaf_entry(&a->env, a->pml4, 0x0000800000000000UL, 1));
}

/* A non-canonical address names no page: it must not alias the high half. */
static void test_noncanonical_never_aliases(void **state)
{
	struct arena *a = *state;
	uint64_t hi = 0xffff800000000000UL, alias = 0x0000800000000000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, hi, 0x5000, K4, PTE_W, 0), PT_OK);
	struct pt_walk w;
	walk(a, alias, &w);
	assert_int_equal(w.mapped, 0);
	assert_int_equal(w.steps, 0); /* nothing to read: the CPU would not translate it */
	assert_int_equal(pt_set_flags(&a->env, a->pml4, alias, PTE_NX, PTE_W), PT_BADARG);
	assert_int_equal(pt_unmap(&a->env, a->pml4, alias, K4), PT_BADARG);
	/* Nor may a range from the top of the lower half run into it. */
	assert_int_equal(pt_unmap(&a->env, a->pml4, 0x00007ffffffff000UL, 2 * K4), PT_BADARG);
	assert_int_equal(pt_unmap(&a->env, a->pml4, 0x00007ffffffff000UL, 0xffff000000002000UL),
			 PT_BADARG);
	walk(a, hi, &w);
	assert_int_equal(w.mapped, 1);
	assert_int_equal(w.writable, 1);
	assert_int_equal(w.executable, 1);
}

static void test_set_flags(void **state)
{
	struct arena *a = *state;
	uint64_t va = 0xffffffff80200000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, va, 0x300000, 2 * K4, PTE_W, 0), PT_OK);
	assert_int_equal(pt_set_flags(&a->env, a->pml4, va, PTE_NX, PTE_W), PT_OK);
	struct pt_walk w;
	walk(a, va, &w);
	assert_int_equal(w.writable, 0);
	assert_int_equal(w.executable, 0);
	assert_int_equal(w.phys, 0x300000);
	walk(a, va + K4, &w); /* the neighbour is untouched */
	assert_int_equal(w.writable, 1);
	assert_int_equal(w.executable, 1);
	assert_int_equal(pt_set_flags(&a->env, a->pml4, va, PTE_W, PTE_NX), PT_OK);
	walk(a, va, &w);
	assert_int_equal(w.writable, 1);
	assert_int_equal(w.executable, 1);
	assert_int_equal(pt_set_flags(&a->env, a->pml4, va + 2 * K4, PTE_W, 0), PT_BADARG);
	assert_int_equal(pt_set_flags(&a->env, a->pml4, 0x400000, PTE_W, 0), PT_BADARG);
	/* Only 4 KiB leaves: inside a 2 MiB page it refuses. */
	assert_int_equal(pt_map(&a->env, a->pml4, 0x200000, 0x200000, M2, 0, PT_MAP_LARGE), PT_OK);
	assert_int_equal(pt_set_flags(&a->env, a->pml4, 0x201000, PTE_W, 0), PT_BADARG);
}

struct seen {
	struct pt_leaf leaf[64];
	int n;
};

static void collect(void *arg, const struct pt_leaf *leaf)
{
	struct seen *s = arg;
	if (s->n == 64)
		fail_msg("pt_for_each: more than 64 leaves");
	s->leaf[s->n++] = *leaf;
}

/* Every leaf exactly once, in address order, high-half addresses sign-extended. */
static void test_for_each(void **state)
{
	struct arena *a = *state;
	static const struct {
		uint64_t va, pa, size;
		uint64_t flags;
		int large;
	} maps[] = {
		{ 0x1000, 0x1000, K4, PTE_W | PTE_NX, 0 },
		{ 0x00007ffffffff000UL, 0x2000, K4, 0, 0 },
		{ 0xffff800000000000UL, 0, 2 * M2, PTE_W | PTE_NX, 1 },
		{ 0xffffffff80000000UL, 0x400000, 3 * K4, 0, 0 },
		{ 0xfffffffffffff000UL, 0x3000, K4, PTE_W | PTE_NX, 0 },
	};
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
		assert_int_equal(pt_map(&a->env, a->pml4, maps[i].va, maps[i].pa, maps[i].size,
					maps[i].flags, maps[i].large ? PT_MAP_LARGE : 0),
				 PT_OK);
	static const struct {
		uint64_t va, phys, size;
		int w, x;
	} want[] = {
		{ 0x1000, 0x1000, K4, 1, 0 },
		{ 0x00007ffffffff000UL, 0x2000, K4, 0, 1 },
		{ 0xffff800000000000UL, 0, M2, 1, 0 },
		{ 0xffff800000200000UL, M2, M2, 1, 0 },
		{ 0xffffffff80000000UL, 0x400000, K4, 0, 1 },
		{ 0xffffffff80001000UL, 0x401000, K4, 0, 1 },
		{ 0xffffffff80002000UL, 0x402000, K4, 0, 1 },
		{ 0xfffffffffffff000UL, 0x3000, K4, 1, 0 },
	};
	struct seen s = { .n = 0 };
	uint64_t n = pt_for_each(&a->env, a->pml4, collect, &s);
	assert_int_equal(n, sizeof want / sizeof want[0]);
	assert_int_equal(s.n, n);
	for (int i = 0; i < s.n; i++) {
		assert_int_equal(s.leaf[i].va, want[i].va);
		assert_int_equal(s.leaf[i].phys, want[i].phys);
		assert_int_equal(s.leaf[i].size, want[i].size);
		assert_int_equal(s.leaf[i].writable, want[i].w);
		assert_int_equal(s.leaf[i].executable, want[i].x);
		assert_true(s.leaf[i].entry & PTE_P);
		assert_int_equal(s.leaf[i].entry & PTE_ADDR, want[i].phys);
		/* The walk agrees with what the enumeration says. */
		struct pt_walk w;
		walk(a, s.leaf[i].va, &w);
		assert_int_equal(w.mapped, 1);
		assert_int_equal(w.phys, s.leaf[i].phys);
		assert_int_equal(w.page_size, s.leaf[i].size);
	}
	/* An empty table set has no leaves. */
	struct arena *b = a;
	uint64_t empty = arena_alloc(b);
	s.n = 0;
	assert_int_equal(pt_for_each(&b->env, empty, collect, &s), 0);
	assert_int_equal(s.n, 0);
}

struct counting {
	uint64_t count, last;
	int ordered; /* leaves came in address order, each as mapped */
};

/* For test_for_each_many: counts leaves and checks their order and contents. */
static void count_leaf(void *arg, const struct pt_leaf *leaf)
{
	struct counting *c = arg;
	if (c->count && leaf->va <= c->last)
		c->ordered = 0;
	if (leaf->phys != (leaf->va & 0xffffffffff000UL) || leaf->executable || leaf->size != K4)
		c->ordered = 0;
	c->last = leaf->va;
	c->count++;
}

/* A larger random set of 4 KiB pages (fixed seed): each visited once, in order. */
static void test_for_each_many(void **state)
{
	struct arena *a = *state;
	enum { N = 3000 };
	int n = 0;
	srand(1);
	while (n < N) {
		/* Random pages in a 1 GiB window of each half. */
		uint64_t v = ((uint64_t)rand() % (1UL << 18)) << 12;
		v |= (rand() % 2) ? 0xffff800000000000UL : 0x0000100000000000UL;
		int rc = pt_map(&a->env, a->pml4, v, v & 0xffffffffff000UL, K4, PTE_NX, 0);
		if (rc == PT_EXISTS)
			continue;
		assert_int_equal(rc, PT_OK);
		n++;
	}
	struct counting c = { 0, 0, 1 };
	assert_int_equal(pt_for_each(&a->env, a->pml4, count_leaf, &c), N);
	assert_int_equal(c.count, N);
	assert_true(c.ordered);
}

struct wx {
	uint64_t pages, wx;
	uint64_t wx_va;
};

static void audit(void *arg, const struct pt_leaf *leaf)
{
	struct wx *a = arg;
	a->pages += leaf->size / K4;
	if (leaf->writable && leaf->executable) {
		a->wx++;
		a->wx_va = leaf->va;
	}
}

/* The W^X audit of vm.c: exactly the one RWX page is both writable and executable. */
static void test_wx_audit(void **state)
{
	struct arena *a = *state;
	uint64_t text = 0xffffffff80000000UL;
	assert_int_equal(pt_map(&a->env, a->pml4, text, 0x100000, 8 * K4, 0, 0), PT_OK);      /* RX */
	assert_int_equal(pt_map(&a->env, a->pml4, text + 8 * K4, 0x108000, 4 * K4, PTE_NX, 0),
			 PT_OK); /* R */
	assert_int_equal(pt_map(&a->env, a->pml4, text + 12 * K4, 0x10c000, 6 * K4,
				PTE_W | PTE_NX, 0),
			 PT_OK); /* RW */
	assert_int_equal(pt_map(&a->env, a->pml4, 0xffff800000000000UL, 0, 4 * M2, PTE_W | PTE_NX,
				PT_MAP_LARGE),
			 PT_OK); /* the direct map */
	assert_int_equal(pt_map(&a->env, a->pml4, 0x7f000000, 0x7f000000, K4, PTE_W, 0), PT_OK);
	struct wx r = { 0, 0, 0 };
	assert_int_equal(pt_for_each(&a->env, a->pml4, audit, &r), 8 + 4 + 6 + 4 + 1);
	assert_int_equal(r.pages, 8 + 4 + 6 + 4 * 512 + 1);
	assert_int_equal(r.wx, 1);
	assert_int_equal(r.wx_va, 0x7f000000);
	/* Made NX, it is gone from the audit; an upper-level W=0 also clears it. */
	assert_int_equal(pt_set_flags(&a->env, a->pml4, 0x7f000000, PTE_NX, 0), PT_OK);
	r = (struct wx){ 0, 0, 0 };
	pt_for_each(&a->env, a->pml4, audit, &r);
	assert_int_equal(r.wx, 0);
	assert_int_equal(pt_set_flags(&a->env, a->pml4, 0x7f000000, 0, PTE_NX), PT_OK);
	table_at(a, 0x7f000000, 2)[idx(0x7f000000, 2)] &= ~PTE_W;
	r = (struct wx){ 0, 0, 0 };
	pt_for_each(&a->env, a->pml4, audit, &r);
	assert_int_equal(r.wx, 0);
}

static void test_describe(void **state)
{
	(void)state;
	char buf[160];
	assert_string_equal(pt_describe(0, 1, buf, sizeof buf), "not present");
	assert_string_equal(pt_describe(0x1000 | PTE_W, 1, buf, sizeof buf), "not present");
	assert_string_equal(pt_describe(0x5000 | PTE_P | PTE_W | PTE_NX, 1, buf, sizeof buf),
			    "present, writable, supervisor only, no-execute, 4 KiB page");
	assert_string_equal(pt_describe(0x5000 | PTE_P, 1, buf, sizeof buf),
			    "present, read-only, supervisor only, executable, 4 KiB page");
	assert_string_equal(pt_describe(0x200000 | PTE_P | PTE_W | PTE_PS | PTE_NX | PTE_G | PTE_D |
						PTE_A,
					2, buf, sizeof buf),
			    "present, writable, supervisor only, no-execute, accessed, dirty, "
			    "global, 2 MiB page");
	assert_string_equal(pt_describe(0x40000000 | PTE_P | PTE_PS | PTE_U, 3, buf, sizeof buf),
			    "present, read-only, user, executable, 1 GiB page");
	/* A table pointer: no dirty or global, whatever the bits say. */
	assert_string_equal(pt_describe(0x3000 | PTE_P | PTE_W | PTE_A | PTE_D | PTE_G, 4, buf,
					sizeof buf),
			    "present, writable, supervisor only, executable, accessed, points to a table");
	assert_string_equal(pt_describe(0x3000 | PTE_P | PTE_W | PTE_PCD | PTE_PWT, 2, buf,
					sizeof buf),
			    "present, writable, supervisor only, executable, cache disabled, "
			    "write-through, points to a table");
	/* A leaf's memory type comes from the kernel's PAT: PWT alone is entry 1, write-combining. */
	assert_string_equal(pt_describe(0x5000 | PTE_P | PTE_W | PTE_NX | PTE_WC, 1, buf, sizeof buf),
			    "present, writable, supervisor only, no-execute, write-combining memory, 4 KiB page");
	assert_string_equal(pt_describe(0x200000 | PTE_P | PTE_PS | PTE_PCD, 2, buf, sizeof buf),
			    "present, read-only, supervisor only, executable, uncached-minus memory, 2 MiB page");
	assert_string_equal(pt_describe(0x5000 | PTE_P | PTE_PS | PTE_PCD | PTE_PWT, 1, buf, sizeof buf),
			    "present, read-only, supervisor only, executable, uncached memory, 4 KiB page");
	/* Truncated to the buffer, always terminated. */
	char small[12];
	assert_ptr_equal(pt_describe(0x5000 | PTE_P, 1, small, sizeof small), small);
	assert_string_equal(small, "present, re");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		T(test_map_4k_and_walk),
		T(test_map_masks_flags),
		T(test_map_large),
		T(test_walk_unmapped),
		T(test_walk_combines_levels),
		T(test_walk_1g_page),
		T(test_map_exists),
		T(test_map_badarg),
		T(test_map_nomem),
		T(test_unmap),
		T(test_leaf_entry),
		T(test_unmap_prune_frees_empty_tables),
		T(test_prune_frees_tables_left_at_the_old_frontier),
		T(test_noncanonical_never_aliases),
		T(test_set_flags),
		T(test_for_each),
		T(test_for_each_many),
		T(test_wx_audit),
		T(test_describe),
	};
	return unit_run("pagetable", tests);
}
