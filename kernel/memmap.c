/*
 * memmap.c: the UEFI memory map, and the physical page allocator fed
 * from it.
 *
 * UEFI says which physical memory is RAM and what the firmware still uses.
 * After ExitBootServices, boot-services code and data are ours as well as
 * conventional memory; loader code and data (this kernel's image, the
 * loader's page tables, the boot info) are ours once the kernel no longer
 * needs them. Runtime-services and ACPI memory are never ours.
 */
#include "kernel.h"

struct mem_range mem_ranges[MEM_RANGES_MAX];
int mem_range_count;
struct pmem phys_pages;

static const char *const type_names[EFI_MEMORY_TYPE_COUNT] = {
	"reserved", "loader code", "loader data", "boot services code", "boot services data",
	"runtime code", "runtime data", "conventional", "unusable", "ACPI reclaim", "ACPI NVS",
	"MMIO", "MMIO port space", "PAL code", "persistent",
};

const char *mem_type_name(uint32_t type)
{
	return type < EFI_MEMORY_TYPE_COUNT ? type_names[type] : "OEM/OS-specific";
}

/* RAM the direct map covers: everything but holes, reserved memory and devices. */
bool mem_type_is_ram(uint32_t type)
{
	switch (type) {
	case EFI_LOADER_CODE: case EFI_LOADER_DATA:
	case EFI_BOOT_SERVICES_CODE: case EFI_BOOT_SERVICES_DATA:
	case EFI_RUNTIME_SERVICES_CODE: case EFI_RUNTIME_SERVICES_DATA:
	case EFI_CONVENTIONAL: case EFI_ACPI_RECLAIM: case EFI_ACPI_NVS: case EFI_PERSISTENT:
		return true;
	}
	return false;
}

static bool free_after_boot(uint32_t type)
{
	return type == EFI_CONVENTIONAL || type == EFI_BOOT_SERVICES_CODE ||
	       type == EFI_BOOT_SERVICES_DATA;
}

/* Reserves what the kernel keeps for good: its image and its ELF copy. */
static void reserve_kernel(void)
{
	pmem_reserve(&phys_pages, boot_info.kernel_phys, boot_info.kernel_size);
	pmem_reserve(&phys_pages, boot_info.elf_phys, boot_info.elf_size);
}

/*
 * Copies the loader's memory map (walked by its descriptor size) into
 * mem_ranges and starts the physical page allocator over the memory that is free
 * now. Only used when booting, on the loader's page tables.
 */
void memmap_init(void)
{
	const uint8_t *map = phys_to_virt(boot_info.mmap_phys);
	uint64_t n = boot_info.mmap_size / boot_info.mmap_desc_size;
	if (n > MEM_RANGES_MAX)
		panic("memmap_init: %lu memory map entries, room for %d", n, MEM_RANGES_MAX);
	uint64_t lo = ~0ULL, hi = 0;
	for (uint64_t i = 0; i < n; i++) {
		const struct efi_memory_descriptor *d = (const void *)(map + i * boot_info.mmap_desc_size);
		mem_ranges[i] = (struct mem_range){ d->phys_start, d->pages, d->attribute, d->type };
		if (!mem_type_is_ram(d->type))
			continue;
		uint64_t end = d->phys_start + d->pages * PAGE_SIZE;
		if (d->phys_start < lo) lo = d->phys_start;
		if (end > hi) hi = end;
	}
	mem_range_count = (int)n;
	if (hi == 0 || hi > PHYS_MAP_MAX)
		panic("memmap_init: RAM ends at %#lx, not in (0, %#lx]", hi, PHYS_MAP_MAX);

	/* The bitmap goes in the first free range large enough to hold it. */
	uint64_t bytes = pmem_bitmap_bytes(lo, hi), where = 0;
	for (int i = 0; i < mem_range_count && !where; i++) {
		struct mem_range *r = &mem_ranges[i];
		if (free_after_boot(r->type) && r->pages * PAGE_SIZE >= bytes + PAGE_SIZE &&
		    r->base >= PAGE_SIZE)
			where = r->base;
	}
	if (!where)
		panic("memmap_init: no free range holds the %lu-byte page bitmap", bytes);
	pmem_init(&phys_pages, lo, hi, phys_to_virt(where));
	for (int i = 0; i < mem_range_count; i++)
		if (free_after_boot(mem_ranges[i].type))
			pmem_add_free(&phys_pages, mem_ranges[i].base, mem_ranges[i].pages * PAGE_SIZE);
	pmem_reserve(&phys_pages, where, bytes);
	reserve_kernel();
}

/*
 * Frees loader code and data (the loader, its page tables, the boot info
 * page, the memory map buffer) except what the kernel keeps. Call only
 * after the kernel runs on its own page tables and stack.
 */
void memmap_reclaim_loader(void)
{
	for (int i = 0; i < mem_range_count; i++) {
		struct mem_range *r = &mem_ranges[i];
		if (r->type == EFI_LOADER_CODE || r->type == EFI_LOADER_DATA)
			pmem_add_free(&phys_pages, r->base, r->pages * PAGE_SIZE);
	}
	reserve_kernel();
}

/* The `mem` command: the map by type, RAM above 4 GiB, and the physical page allocator. */
void memmap_print(bool verbose)
{
	uint64_t pages[EFI_MEMORY_TYPE_COUNT + 1] = { 0 }, ram = 0, high = 0, top = 0;
	int counts[EFI_MEMORY_TYPE_COUNT + 1] = { 0 };
	if (verbose)
		kprintf("%-18s %-18s %10s  %s\n", "start", "end", "size KiB", "type");
	for (int i = 0; i < mem_range_count; i++) {
		struct mem_range *r = &mem_ranges[i];
		uint32_t t = r->type < EFI_MEMORY_TYPE_COUNT ? r->type : EFI_MEMORY_TYPE_COUNT;
		uint64_t end = r->base + r->pages * PAGE_SIZE;
		pages[t] += r->pages;
		counts[t]++;
		if (mem_type_is_ram(r->type)) {
			ram += r->pages;
			if (end > (4ULL << 30))
				high += (end - (r->base > (4ULL << 30) ? r->base : (4ULL << 30))) / PAGE_SIZE;
			if (end > top) top = end;
		}
		if (verbose)
			kprintf("%#018lx %#018lx %10lu  %s%s\n", r->base, end, r->pages * 4,
				mem_type_name(r->type), r->attribute & MEM_ATTR_RUNTIME ? " (runtime)" : "");
	}
	kprintf("memory map: %d entries (descriptor size %lu)\n", mem_range_count,
		boot_info.mmap_desc_size);
	for (int t = 0; t <= EFI_MEMORY_TYPE_COUNT; t++)
		if (counts[t])
			kprintf("  %-20s %4d %-6s %10lu KiB\n",
				t < EFI_MEMORY_TYPE_COUNT ? mem_type_name((uint32_t)t) : "other", counts[t],
				counts[t] == 1 ? "range" : "ranges", pages[t] * 4);
	kprintf("RAM: %lu MiB, of it above 4 GiB: %lu MiB, highest address %#lx\n", ram >> 8,
		high >> 8, top);
	kprintf("physical pages: %lu free of %lu managed (%lu MiB free), bitmap covers %lu pages\n",
		phys_pages.free, phys_pages.managed, phys_pages.free >> 8, phys_pages.count);
}
