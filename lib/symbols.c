/*
 * symbols.c: turns code addresses into "function+0xoffset".
 *
 * The loader hands the kernel a copy of its own ELF file (debug info
 * stripped, .symtab kept). We keep the function and object symbols, sorted
 * by address, and answer lookups by binary search. Pure C: the host unit
 * tests load real ELF files with it. Names are not copied: the ELF copy
 * must stay mapped for as long as the table is used.
 */
#include "symbols.h"

#include "elf.h"
#include "kstring.h"

/* Shell sort by address: no recursion, no allocation, fine for thousands. */
static void sort_symbols(struct symbol *s, size_t n)
{
	static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
		size_t gap = gaps[g];
		for (size_t i = gap; i < n; i++) {
			struct symbol t = s[i];
			size_t j = i;
			for (; j >= gap && s[j - gap].addr > t.addr; j -= gap)
				s[j] = s[j - gap];
			s[j] = t;
		}
	}
}

static int in_file(size_t off, size_t len, size_t file)
{
	return off <= file && len <= file - off;
}

/*
 * Reads the named symbols (functions and objects with an address) of an
 * ELF64 file into storage. Returns 0, or -1 if the file is not a readable
 * ELF64 with a symbol table.
 */
int symtab_load(struct symtab *st, const void *elf, size_t elf_size, struct symbol *storage,
		size_t capacity)
{
	const uint8_t *file = elf;
	const struct elf64_ehdr *eh = elf;
	st->syms = storage;
	st->count = st->dropped = 0;
	/* Headers and tables are read as structs, so they must be 8-byte aligned
	 * (ELF64 files align them so): misaligned loads are undefined in C. */
	if (elf_size < sizeof *eh || (uintptr_t)elf % 8 ||
	    *(const uint32_t *)eh->ident != ELF_MAGIC || eh->ident[4] != ELFCLASS64 ||
	    eh->shentsize != sizeof(struct elf64_shdr) || eh->shoff % 8 ||
	    !in_file(eh->shoff, (size_t)eh->shnum * sizeof(struct elf64_shdr), elf_size))
		return -1;
	const struct elf64_shdr *sh = (const void *)(file + eh->shoff);
	for (size_t i = 0; i < eh->shnum; i++) {
		if (sh[i].type != SHT_SYMTAB || sh[i].link >= eh->shnum)
			continue;
		const struct elf64_shdr *strs = &sh[sh[i].link];
		if (sh[i].offset % 8 || !in_file(sh[i].offset, sh[i].size, elf_size) ||
		    !in_file(strs->offset, strs->size, elf_size) || strs->size == 0)
			return -1;
		const struct elf64_sym *sym = (const void *)(file + sh[i].offset);
		const char *names = (const char *)(file + strs->offset);
		size_t n = sh[i].size / sizeof *sym;
		for (size_t k = 0; k < n; k++) {
			int type = ELF64_ST_TYPE(sym[k].info);
			if ((type != STT_FUNC && type != STT_OBJECT) || sym[k].value == 0 ||
			    sym[k].name == 0 || sym[k].name >= strs->size)
				continue;
			if (names[strs->size - 1] != '\0')
				return -1; /* an unterminated string table */
			if (st->count == capacity) {
				st->dropped++;
				continue;
			}
			storage[st->count++] = (struct symbol){ sym[k].value, sym[k].size,
								 names + sym[k].name };
		}
		sort_symbols(storage, st->count);
		return 0;
	}
	return -1;
}

/*
 * Finds the symbol containing addr: the last one starting at or below it,
 * if addr is inside its size (or, for a symbol of size 0, before the next
 * symbol). Sets *offset to addr - start. Returns NULL if none contains it.
 */
const struct symbol *symtab_lookup(const struct symtab *st, uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = st->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct symbol *s = &st->syms[lo - 1];
	/* Several symbols may share an address: prefer one with a size. */
	while (s > st->syms && s[-1].addr == s->addr && s->size == 0)
		s--;
	uint64_t end = s->size ? s->addr + s->size
			       : (lo < st->count ? st->syms[lo].addr : s->addr + 1);
	if (addr >= end)
		return NULL;
	*offset = addr - s->addr;
	return s;
}

/* Finds a symbol by exact name; NULL if there is none. */
const struct symbol *symtab_find(const struct symtab *st, const char *name)
{
	for (size_t i = 0; i < st->count; i++)
		if (strcmp(st->syms[i].name, name) == 0)
			return &st->syms[i];
	return NULL;
}
