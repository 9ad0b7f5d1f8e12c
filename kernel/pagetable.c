/*
 * pagetable.c: building, walking and auditing x86-64 4-level page tables.
 *
 * A canonical virtual address splits into four 9-bit table indexes and a
 * 12-bit offset (Intel SDM vol. 3A, figure 4-8):
 *
 *   63    48 47   39 38   30 29   21 20   12 11        0
 *   | sign  | PML4  | PDPT  |  PD   |  PT   |  offset  |
 *
 * A PDPTE with PS set maps 1 GiB, a PDE with PS set maps 2 MiB. Rights
 * combine over the levels: a page is writable only if every entry on the
 * way has W, executable only if none has NX. We give upper levels P|W and
 * no NX, so the leaf alone decides. Pure C, tested on the host.
 */
#include "pagetable.h"

#include "format.h"

static unsigned index_of(uint64_t va, int level)
{
	return (unsigned)((va >> (12 + 9 * (level - 1))) & 511);
}

static uint64_t *table(const struct pt_env *env, uint64_t phys)
{
	return env->phys_to_virt(env->ctx, phys);
}

/* Bits 63..47 all equal: the only addresses the CPU translates. */
int va_is_canonical(uint64_t va)
{
	uint64_t top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

/*
 * True if [va, va+size) is all canonical. Checking both ends is not enough:
 * a range that wraps past 2^64 (to page 0) or spans the hole covers
 * non-canonical addresses, whose table indexes alias the other half.
 */
static int range_is_canonical(uint64_t va, uint64_t size)
{
	uint64_t last = va + size - 1;
	if (size == 0)
		return va_is_canonical(va);
	return va_is_canonical(va) && va_is_canonical(last) && last >= va && !((last ^ va) >> 47);
}

/* Returns the entry for va at level `level`, creating missing tables above it. */
static uint64_t *entry_for(const struct pt_env *env, uint64_t pml4, uint64_t va, int level,
			   int create)
{
	uint64_t t = pml4;
	for (int l = 4; l > level; l--) {
		uint64_t *e = &table(env, t)[index_of(va, l)];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			uint64_t f = env->alloc_frame(env->ctx);
			if (!f)
				return NULL;
			*e = f | PTE_P | PTE_W;
		} else if (*e & PTE_PS) {
			return NULL; /* a large page is in the way */
		}
		t = *e & PTE_ADDR;
	}
	return &table(env, t)[index_of(va, level)];
}

/*
 * The 4 KiB leaf entry of va (canonical), creating the tables above it if
 * create is set; NULL if a table is missing (or no frame was left for it)
 * or a large page is in the way. The entries of the rest of va's 2 MiB
 * follow it in memory: a caller that maps or unmaps a run of pages walks
 * once per 2 MiB, not once per page.
 */
uint64_t *pt_leaf_entry(const struct pt_env *env, uint64_t pml4, uint64_t va, int create)
{
	return va_is_canonical(va) ? entry_for(env, pml4, va, 1, create) : NULL;
}

/*
 * Maps [va, va+size) to [pa, pa+size) with the given leaf bits (PTE_P is
 * added). With PT_MAP_LARGE, uses 2 MiB pages where va, pa and the
 * remaining size allow. Fails with PT_EXISTS rather than replace a mapping.
 */
int pt_map(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t pa, uint64_t size,
	   uint64_t flags, int options)
{
	if ((va | pa | size) & 0xfff || !range_is_canonical(va, size))
		return PT_BADARG;
	flags = (flags & ~PTE_ADDR & ~PTE_PS) | PTE_P;
	uint64_t done = 0;
	while (done < size) {
		uint64_t v = va + done, p = pa + done, left = size - done;
		int large = (options & PT_MAP_LARGE) && !(v & (LARGE_2M - 1)) &&
			    !(p & (LARGE_2M - 1)) && left >= LARGE_2M;
		uint64_t *e = entry_for(env, pml4, v, large ? 2 : 1, 1);
		if (!e) {
			/* Distinguish "a large page is in the way" from out of memory. */
			struct pt_walk w;
			pt_walk(env, pml4, v, &w);
			return w.mapped ? PT_EXISTS : PT_NOMEM;
		}
		if (*e & PTE_P)
			return PT_EXISTS;
		*e = p | flags | (large ? PTE_PS : 0);
		done += large ? LARGE_2M : 4096;
	}
	return PT_OK;
}

/* Removes the 4 KiB mappings of [va, va+size). Does not flush the TLB. */
int pt_unmap(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t size)
{
	if ((va | size) & 0xfff || !range_is_canonical(va, size))
		return PT_BADARG;
	for (uint64_t off = 0; off < size; off += 4096) {
		uint64_t *e = entry_for(env, pml4, va + off, 1, 0);
		if (e)
			*e = 0;
	}
	return PT_OK;
}

static int table_is_empty(const struct pt_env *env, uint64_t t)
{
	const uint64_t *tab = table(env, t);
	for (unsigned i = 0; i < 512; i++)
		if (tab[i])
			return 0;
	return 1;
}

/* At `level` (2: PD entries, 3: PDPT, 4: PML4), frees the tables below
 * entries covering [va, end) that have become empty; returns how many. */
static int prune_level(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t end, int level,
		       uint64_t keep_from, void (*free_table)(void *ctx, uint64_t phys))
{
	uint64_t span = 1ULL << (12 + 9 * (level - 1)); /* what one entry at this level covers */
	int freed = 0;
	for (uint64_t a = va & ~(span - 1); a < end && a >= (va & ~(span - 1)); a += span) {
		if (a + span - 1 >= keep_from) /* first: it costs no walk */
			continue;
		uint64_t *e = level == 4 ? &table(env, pml4)[index_of(a, 4)] : entry_for(env, pml4, a, level, 0);
		if (!e || !(*e & PTE_P) || (*e & PTE_PS))
			continue;
		uint64_t below = *e & PTE_ADDR;
		if (table_is_empty(env, below)) {
			*e = 0;
			free_table(env->ctx, below);
			freed++;
		}
		if (a + span < a)
			break;
	}
	return freed;
}

/*
 * pt_unmap, then frees every page table under [va, va+size) left with no
 * entries (the PML4 itself stays), except tables reaching keep_from or
 * above: addresses there may still be mapped, and freeing a table only to
 * allocate it again is waste. For ranges that will never be mapped again,
 * such as the runtime's retired stacks. Does not flush the TLB.
 */
int pt_unmap_prune(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t size,
		   uint64_t keep_from, void (*free_table)(void *ctx, uint64_t phys))
{
	int err = pt_unmap(env, pml4, va, size);
	if (err || size == 0)
		return err;
	return pt_prune(env, pml4, va, size, keep_from, free_table);
}

/*
 * Frees the page tables under [va, va+size) that hold no entries, except
 * those reaching keep_from or above; unmaps nothing. For tables that
 * pt_unmap_prune kept because they reached the frontier then, once the
 * frontier has moved past them. Does not flush the TLB.
 */
int pt_prune(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t size, uint64_t keep_from,
	     void (*free_table)(void *ctx, uint64_t phys))
{
	if ((va | size) & 0xfff || !range_is_canonical(va, size))
		return PT_BADARG;
	/* A level can only have emptied if the one below it freed a table. */
	for (int level = 2; level <= 4; level++)
		if (!prune_level(env, pml4, va, va + size, level, keep_from, free_table))
			break;
	return PT_OK;
}

/* Sets and clears bits of the 4 KiB leaf entry of va. Does not flush the TLB. */
int pt_set_flags(const struct pt_env *env, uint64_t pml4, uint64_t va, uint64_t set, uint64_t clear)
{
	if (!va_is_canonical(va))
		return PT_BADARG; /* it would change its high-half alias */
	uint64_t *e = entry_for(env, pml4, va, 1, 0);
	if (!e || !(*e & PTE_P))
		return PT_BADARG;
	*e = (*e & ~clear) | set;
	return PT_OK;
}

/*
 * Walks the tables for va and records each entry and the effective rights.
 * A non-canonical va reads no entry (steps 0): the CPU never translates it,
 * and its table indexes would report its high-half alias as mapped.
 */
void pt_walk(const struct pt_env *env, uint64_t pml4, uint64_t va, struct pt_walk *w)
{
	uint64_t t = pml4;
	int writable = 1, executable = 1, user = 1;
	w->steps = 0;
	w->mapped = 0;
	if (!va_is_canonical(va))
		return;
	for (int level = 4; level >= 1; level--) {
		uint64_t e = table(env, t)[index_of(va, level)];
		w->step[w->steps++] = (struct pt_step){ level, index_of(va, level), t, e };
		if (!(e & PTE_P))
			return;
		writable &= !!(e & PTE_W);
		executable &= !(e & PTE_NX);
		user &= !!(e & PTE_U);
		int leaf = level == 1 || ((level == 2 || level == 3) && (e & PTE_PS));
		if (leaf) {
			uint64_t size = 1ULL << (12 + 9 * (level - 1));
			w->mapped = 1;
			w->page_size = size;
			w->phys = (e & PTE_ADDR & ~(size - 1)) + (va & (size - 1));
			w->writable = writable;
			w->executable = executable;
			w->user = user;
			return;
		}
		t = e & PTE_ADDR;
	}
}

static uint64_t sign_extend(uint64_t va)
{
	return va & (1ULL << 47) ? va | 0xffff000000000000ULL : va;
}

static uint64_t visit(const struct pt_env *env, uint64_t t, int level, uint64_t base, int w, int x,
		      void (*fn)(void *, const struct pt_leaf *), void *arg)
{
	uint64_t leaves = 0, *tab = table(env, t);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e = tab[i];
		if (!(e & PTE_P))
			continue;
		uint64_t va = sign_extend(base | ((uint64_t)i << (12 + 9 * (level - 1))));
		int ew = w && (e & PTE_W), ex = x && !(e & PTE_NX);
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
			uint64_t size = 1ULL << (12 + 9 * (level - 1));
			struct pt_leaf leaf = { va, e & PTE_ADDR & ~(size - 1), size, e, ew, ex };
			fn(arg, &leaf);
			leaves++;
		} else {
			leaves += visit(env, e & PTE_ADDR, level - 1, va, ew, ex, fn, arg);
		}
	}
	return leaves;
}

/* Calls fn for every present leaf mapping, in address order; returns how many. */
uint64_t pt_for_each(const struct pt_env *env, uint64_t pml4,
		     void (*fn)(void *arg, const struct pt_leaf *leaf), void *arg)
{
	return visit(env, pml4, 4, 0, 1, 1, fn, arg);
}

/* Writes the bits of a paging entry in words, e.g. "present, writable, no-execute". */
const char *pt_describe(uint64_t e, int level, char *buf, unsigned long cap)
{
	if (!(e & PTE_P)) {
		ksnprintf(buf, cap, "not present");
		return buf;
	}
	int leaf = level == 1 || ((level == 2 || level == 3) && (e & PTE_PS));
	/* A leaf's memory type: the PAT entry its PAT, PCD and PWT bits pick
	 * (PAT_KERNEL); a table pointer's PCD and PWT say how the table is read. */
	static const char *const types[8] = { "uncached", "write-combining", "?", "?", "write-through",
					      "write-protected", "write-back", "uncached-minus" };
	char type[40] = "";
	int pat = leaf && (level == 1 ? e & PTE_PS : e & PTE_PAT_LARGE);
	unsigned index = (pat ? 4u : 0u) | (e & PTE_PCD ? 2u : 0u) | (e & PTE_PWT ? 1u : 0u);
	if (leaf && index)
		ksnprintf(type, sizeof type, ", %s memory", types[(PAT_KERNEL >> (8 * index)) & 7]);
	ksnprintf(buf, cap, "present, %s, %s, %s%s%s%s%s%s%s%s", e & PTE_W ? "writable" : "read-only",
		  e & PTE_U ? "user" : "supervisor only", e & PTE_NX ? "no-execute" : "executable", type,
		  !leaf && e & PTE_PCD ? ", cache disabled" : "", !leaf && e & PTE_PWT ? ", write-through" : "",
		  e & PTE_A ? ", accessed" : "", leaf && (e & PTE_D) ? ", dirty" : "",
		  leaf && (e & PTE_G) ? ", global" : "",
		  !leaf ? ", points to a table"
			: level == 3 ? ", 1 GiB page" : level == 2 ? ", 2 MiB page" : ", 4 KiB page");
	return buf;
}
