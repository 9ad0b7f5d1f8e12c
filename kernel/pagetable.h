/* pagetable.h: x86-64 4-level page-table entries, and the pure builder, walker and
 * auditor of pagetable.c (unit-tested on the host). */
#ifndef MORESTACK_PAGETABLE_H
#define MORESTACK_PAGETABLE_H
#include <stdint.h>

/* Page-table entry bits (Intel SDM vol. 3A, 4.5, tables 4-15 to 4-20). */
#define PTE_P (1UL << 0)    /* present */
#define PTE_W (1UL << 1)    /* writable */
#define PTE_U (1UL << 2)    /* user-accessible */
#define PTE_PWT (1UL << 3)  /* write-through */
#define PTE_PCD (1UL << 4)  /* cache disabled */
#define PTE_A (1UL << 5)    /* accessed */
#define PTE_D (1UL << 6)    /* dirty */
#define PTE_PS (1UL << 7)   /* large page (in a PDPTE or PDE) */
#define PTE_G (1UL << 8)    /* global */
#define PTE_NX (1UL << 63)  /* no execute (needs EFER.NXE) */
#define PTE_ADDR 0x000ffffffffff000UL
#define PTE_PAT_LARGE (1UL << 12) /* the PAT bit of a 2 MiB or 1 GiB leaf (a 4 KiB leaf's is bit 7) */

/*
 * The kernel's page attribute table (IA32_PAT, Intel SDM vol. 3A, 11.12),
 * programmed at boot by kernel/fbcon.c: entry 1 is write-combining instead
 * of the power-on write-through (for the framebuffer: PWT alone selects
 * it); the others keep their power-on types. A leaf's PAT, PCD and PWT
 * bits index it; pt_describe names the type from here.
 */
#define PAT_KERNEL 0x0007040600070106UL /* entries 0..7: WB WC UC- UC WB WT UC- UC */
#define PTE_WC PTE_PWT                  /* a leaf's bits for entry 1: write-combining */
#define LARGE_2M (2UL << 20)

/* How the builder gets page-table memory: the kernel passes its frame
 * allocator and the direct map; host tests pass an arena. */
struct pt_env {
	uint64_t (*alloc_frame)(void *ctx); /* a zeroed frame, or 0 */
	void *(*phys_to_virt)(void *ctx, uint64_t phys);
	void *ctx;
};

/* Options of pt_map beyond the PTE bits. */
#define PT_MAP_LARGE 1 /* 2 MiB pages wherever alignment allows */

enum { PT_OK = 0, PT_NOMEM = -1, PT_EXISTS = -2, PT_BADARG = -3 };

/* One level of a walk: the entry that translated (or failed to translate) va. */
struct pt_step {
	int level;       /* 4 = PML4 ... 1 = PT */
	unsigned index;  /* 0..511 */
	uint64_t table;  /* physical address of the table */
	uint64_t entry;
};

struct pt_walk {
	int steps;               /* entries read, 1..4; 0 if va is not canonical */
	struct pt_step step[4];
	int mapped;              /* 1 if va is mapped */
	uint64_t phys;           /* the physical address of va, if mapped */
	uint64_t page_size;      /* 4 KiB, 2 MiB or 1 GiB */
	int writable, executable, user; /* effective rights over all levels */
};

/* A leaf mapping reported by pt_for_each: [va, va+size) -> phys. */
struct pt_leaf {
	uint64_t va, phys, size, entry;
	int writable, executable;
};

int va_is_canonical(uint64_t va);
int pt_map(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t pa, uint64_t size,
	   uint64_t flags, int options);
int pt_unmap(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t size);
int pt_unmap_prune(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t size,
		   uint64_t keep_from, void (*free_table)(void *ctx, uint64_t phys));
int pt_prune(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t size, uint64_t keep_from,
	     void (*free_table)(void *ctx, uint64_t phys));
void pt_walk(const struct pt_env *env, uint64_t pml4, uint64_t va, struct pt_walk *w);
uint64_t *pt_leaf_entry(const struct pt_env *env, uint64_t pml4, uint64_t va, int create);
int pt_set_flags(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t set, uint64_t clear);
uint64_t pt_for_each(const struct pt_env *env, uint64_t pml4,
		     void (*fn)(void *arg, const struct pt_leaf *leaf), void *arg);
const char *pt_describe(uint64_t entry, int level, char *buf, unsigned long cap);
#endif
