/* symbols.h: an ELF symbol table turned into "function+0xoffset" (symbols.c). */
#ifndef MORESTACK_SYMBOLS_H
#define MORESTACK_SYMBOLS_H
#include <stddef.h>
#include <stdint.h>

struct symbol {
	uint64_t addr, size;
	const char *name; /* points into the ELF file's string table */
};

struct symtab {
	struct symbol *syms; /* sorted by addr */
	size_t count;
	size_t dropped;      /* symbols that did not fit the storage */
};

int symtab_load(struct symtab *st, const void *elf, size_t elf_size, struct symbol *storage,
		size_t capacity);
const struct symbol *symtab_lookup(const struct symtab *st, uint64_t addr, uint64_t *offset);
const struct symbol *symtab_find(const struct symtab *st, const char *name);
#endif
