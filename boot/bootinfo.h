/*
 * bootinfo.h: what the UEFI loader (boot/loader.c) hands the kernel.
 *
 * The loader fills one struct boot_info in a page of EfiLoaderData, exits
 * boot services, loads its bootstrap page tables and jumps to the kernel's
 * _start with the struct's physical address in %rdi. The bootstrap tables
 * map physical memory twice with 2 MiB pages (identity read-only, and at
 * PHYS_OFFSET read/write + NX) and the kernel image at KERNEL_BASE with
 * its segments' rights; the kernel replaces them as soon as it can.
 * Every address here is physical unless its name says virt.
 */
#ifndef MORESTACK_BOOTINFO_H
#define MORESTACK_BOOTINFO_H

#include <stdint.h>

#define BOOT_INFO_MAGIC 0x6b63617473726f6dULL /* "morestck" */

/* UEFI memory types (UEFI spec 2.10, table 7.10), as the kernel needs them. */
enum efi_memory_type {
	EFI_RESERVED = 0,
	EFI_LOADER_CODE,
	EFI_LOADER_DATA,
	EFI_BOOT_SERVICES_CODE,
	EFI_BOOT_SERVICES_DATA,
	EFI_RUNTIME_SERVICES_CODE,
	EFI_RUNTIME_SERVICES_DATA,
	EFI_CONVENTIONAL,
	EFI_UNUSABLE,
	EFI_ACPI_RECLAIM,
	EFI_ACPI_NVS,
	EFI_MMIO,
	EFI_MMIO_PORT_SPACE,
	EFI_PAL_CODE,
	EFI_PERSISTENT,
	EFI_MEMORY_TYPE_COUNT
};

/* EFI_MEMORY_DESCRIPTOR; walk arrays of them by mmap_desc_size, never by sizeof. */
struct efi_memory_descriptor {
	uint32_t type;
	uint32_t pad;
	uint64_t phys_start;
	uint64_t virt_start;
	uint64_t pages;
	uint64_t attribute;
};

#define MEM_ATTR_UC 0x1ULL
#define MEM_ATTR_WB 0x8ULL
#define MEM_ATTR_XP 0x4000ULL
#define MEM_ATTR_RO 0x20000ULL
#define MEM_ATTR_RUNTIME 0x8000000000000000ULL

/* GOP framebuffer, when the firmware has one (fb_base == 0 otherwise). */
enum fb_format { FB_NONE, FB_RGBX, FB_BGRX, FB_BITMASK };

struct boot_info {
	uint64_t magic;
	uint64_t tsc_at_efi_main;   /* rdtsc at the first line of efi_main */
	uint64_t tsc_hz;            /* measured against the firmware's Stall() */

	uint64_t kernel_phys;       /* the loaded image: [kernel_phys, +kernel_size) */
	uint64_t kernel_virt;       /* ... mapped at kernel_virt (== KERNEL_BASE) */
	uint64_t kernel_size;
	uint64_t elf_phys;          /* a copy of kernel ELF file, for its symbol table */
	uint64_t elf_size;

	uint64_t mmap_phys;         /* the final memory map, taken by ExitBootServices */
	uint64_t mmap_size;
	uint64_t mmap_desc_size;
	uint32_t mmap_desc_version;
	uint32_t exit_boot_tries;   /* how many GetMemoryMap+ExitBootServices rounds */

	uint64_t mat_phys;          /* copy of EFI_MEMORY_ATTRIBUTES_TABLE, 0 if none */
	uint64_t mat_size;
	uint64_t runtime_services;  /* EFI_RUNTIME_SERVICES *, identity mapped */
	uint64_t acpi_rsdp;         /* ACPI 2.0 RSDP if present, else 1.0, else 0 */

	uint64_t fb_base;
	uint64_t fb_size;
	uint32_t fb_width, fb_height, fb_pixels_per_line, fb_format;
	uint32_t fb_red_mask, fb_green_mask, fb_blue_mask, fb_pad;

	uint64_t boot_tables_phys;  /* bootstrap page tables: [phys, +pages*4096) */
	uint64_t boot_tables_pages;

	uint32_t firmware_revision;
	char firmware_vendor[64];   /* ASCII, NUL-terminated */

	/* The GOP mode the loader chose (boot/loader.c, find_framebuffer). */
	uint32_t fb_mode;           /* the mode in use */
	uint32_t fb_modes;          /* modes the firmware offered; 0: no GOP at all */
	uint32_t fb_firmware_mode;  /* the mode the firmware had set */
	uint32_t fb_choice;         /* enum fb_choice */
};

/* How the loader came to its screen mode. */
enum fb_choice {
	FB_CHOICE_NO_GOP,       /* no Graphics Output Protocol: no screen */
	FB_CHOICE_KEPT,         /* the firmware's mode has 80x25 cells and a framebuffer */
	FB_CHOICE_SWITCHED,     /* the largest mode that does (up to the cap) */
	FB_CHOICE_NONE_FITS,    /* no mode does: the firmware's mode kept as it is */
	FB_CHOICE_SETMODE_FAILED, /* SetMode refused: the firmware's mode kept */
};
#define FB_MIN_WIDTH 640        /* 80 cells of the kernel's 8x16 font */
#define FB_MIN_HEIGHT 400       /* 25 rows */
#define FB_MAX_WIDTH 1920       /* the largest mode the loader picks by itself */
#define FB_MAX_HEIGHT 1200

#endif
