/*
 * elf.h: the few ELF64 structures morestack reads (System V gABI, ch. 4):
 * the loader reads program headers to load the kernel, the symbolizer
 * reads section headers to find .symtab and .strtab.
 */
#ifndef MORESTACK_ELF_H
#define MORESTACK_ELF_H

#include <stdint.h>

#define ELF_MAGIC 0x464c457fU /* "\x7fELF" read as a little-endian word */
#define ELFCLASS64 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PF_X 1
#define PF_W 2
#define SHT_SYMTAB 2
#define STT_FUNC 2
#define STT_OBJECT 1
#define ELF64_ST_TYPE(info) ((info) & 0xf)

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct elf64_shdr {
	uint32_t name, type;
	uint64_t flags, addr, offset, size;
	uint32_t link, info;
	uint64_t addralign, entsize;
};

struct elf64_sym {
	uint32_t name;
	uint8_t info, other;
	uint16_t shndx;
	uint64_t value, size;
};

#endif
