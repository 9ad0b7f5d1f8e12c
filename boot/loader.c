/*
 * loader.c: the UEFI entry of morestack (BOOTX64.EFI, built with gnu-efi).
 *
 * It does what only the firmware can help with, then leaves for good:
 *   1. measures the TSC against the firmware's Stall(), for boot timing;
 *   2. chooses a screen mode with at least 80x25 cells of the kernel's
 *      8x16 font (choose_mode) and records its GOP framebuffer, the ACPI
 *      RSDP, the runtime services table and the memory attributes table
 *      (for W^X runtime mappings);
 *   3. loads the kernel ELF embedded in this image at a fresh physical
 *      place and keeps a copy of the file for its symbol table;
 *   4. builds bootstrap page tables (identity RX and direct map RW+NX with
 *      2 MiB pages, the kernel at KERNEL_BASE with its segments' rights);
 *   5. takes the final memory map and exits boot services, retrying with a
 *      fresh map key when the map changed under us;
 *   6. loads the bootstrap tables and jumps to the kernel's _start.
 * gnu-efi's crt0 calls efi_main with the System V ABI; firmware calls go
 * through EFIAPI (ms_abi) pointers since we build with GNU_EFI_USE_MS_ABI.
 */
#include <efi.h>
#include <efilib.h>

#include "bootinfo.h"
#include "elf.h"
#include "memlayout.h"

extern const UINT8 kernel_elf_start[], kernel_elf_end[];

static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
static EFI_GUID mat_guid = { 0xdcfa911d, 0x26eb, 0x469f,
			     { 0xa2, 0x20, 0x38, 0xb7, 0xdc, 0x46, 0x12, 0x20 } };

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_PS 0x80ULL
#define PTE_NX (1ULL << 63)
#define MSR_EFER 0xc0000080
#define EFER_NXE (1ULL << 11)
#define BOOT_MAP_MIN (4ULL << 30)   /* always map the low 4 GiB (MMIO lives there) */
#define BOOT_MAP_MAX (512ULL << 30) /* one PDPT of 1 GiB slots */

static inline UINT64 rdtsc(void)
{
	UINT32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((UINT64)hi << 32) | lo;
}

static VOID *alloc_pages(UINTN pages, UINT64 *phys)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	EFI_STATUS st = BS->AllocatePages(AllocateAnyPages, EfiLoaderData, pages, &addr);
	if (EFI_ERROR(st))
		return NULL;
	ZeroMem((VOID *)addr, pages * PAGE_SIZE);
	*phys = addr;
	return (VOID *)addr;
}

/* Measures the TSC over 20 ms of the firmware's own Stall(). */
static UINT64 measure_tsc_hz(void)
{
	UINT64 t0 = rdtsc();
	BS->Stall(20000);
	return (rdtsc() - t0) * 50;
}

static void find_config_tables(struct boot_info *bi)
{
	UINT64 rsdp1 = 0;
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (CompareGuid(&t->VendorGuid, &acpi20_guid) == 0)
			bi->acpi_rsdp = (UINT64)t->VendorTable;
		else if (CompareGuid(&t->VendorGuid, &AcpiTableGuid) == 0)
			rsdp1 = (UINT64)t->VendorTable;
		else if (CompareGuid(&t->VendorGuid, &mat_guid) == 0) {
			/* Version, NumberOfEntries, DescriptorSize, Reserved; then entries */
			UINT32 *hdr = t->VendorTable;
			UINT64 size = 16 + (UINT64)hdr[1] * hdr[2];
			UINT64 phys;
			VOID *copy = alloc_pages((size + PAGE_SIZE - 1) / PAGE_SIZE, &phys);
			if (copy) {
				CopyMem(copy, hdr, size);
				bi->mat_phys = phys;
				bi->mat_size = size;
			}
		}
	}
	if (!bi->acpi_rsdp)
		bi->acpi_rsdp = rsdp1;
}

/* Does a mode have a linear framebuffer and room for 80x25 cells of 8x16? */
static int mode_fits(const EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *m)
{
	return m->PixelFormat < PixelBltOnly && m->HorizontalResolution >= FB_MIN_WIDTH &&
	       m->VerticalResolution >= FB_MIN_HEIGHT;
}

/*
 * Chooses the screen mode: the firmware's if it fits (firmware usually sets
 * the panel's native mode), else the largest mode that fits and is at most
 * FB_MAX_WIDTH x FB_MAX_HEIGHT; with none, the firmware's stays. Says what
 * it chose (OVMF copies Print to the serial line) and records it.
 */
static void choose_mode(EFI_GRAPHICS_OUTPUT_PROTOCOL *gop, struct boot_info *bi)
{
	UINT32 current = gop->Mode->Mode, best = current;
	UINT64 best_area = 0;
	bi->fb_modes = gop->Mode->MaxMode;
	bi->fb_firmware_mode = current;
	bi->fb_choice = FB_CHOICE_KEPT;
	if (mode_fits(gop->Mode->Info))
		return;
	for (UINT32 i = 0; i < gop->Mode->MaxMode; i++) {
		EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *m = NULL;
		UINTN size = 0;
		if (EFI_ERROR(gop->QueryMode(gop, i, &size, &m)) || !m)
			continue;
		UINT64 area = (UINT64)m->HorizontalResolution * m->VerticalResolution;
		if (mode_fits(m) && m->HorizontalResolution <= FB_MAX_WIDTH &&
		    m->VerticalResolution <= FB_MAX_HEIGHT && area > best_area) {
			best = i;
			best_area = area;
		}
		FreePool(m);
	}
	if (!best_area) {
		bi->fb_choice = FB_CHOICE_NONE_FITS;
		return;
	}
	EFI_STATUS st = gop->SetMode(gop, best);
	bi->fb_choice = EFI_ERROR(st) ? FB_CHOICE_SETMODE_FAILED : FB_CHOICE_SWITCHED;
}

static void find_framebuffer(struct boot_info *bi)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
	if (EFI_ERROR(BS->LocateProtocol(&GraphicsOutputProtocol, NULL, (VOID **)&gop)) || !gop) {
		Print(L"morestack: screen: no graphics output (GOP): serial only\n");
		bi->fb_choice = FB_CHOICE_NO_GOP;
		return;
	}
	UINT32 before = gop->Mode->Mode;
	UINT32 before_w = gop->Mode->Info->HorizontalResolution;
	UINT32 before_h = gop->Mode->Info->VerticalResolution;
	choose_mode(gop, bi);
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info = gop->Mode->Info;
	bi->fb_mode = gop->Mode->Mode;
	static const CHAR16 *const how[] = {
		[FB_CHOICE_KEPT] = L"kept",
		[FB_CHOICE_SWITCHED] = L"switched: it has no 80x25 cells",
		[FB_CHOICE_NONE_FITS] = L"kept: no mode has 80x25 cells and a framebuffer",
		[FB_CHOICE_SETMODE_FAILED] = L"kept: SetMode refused the better one",
	};
	Print(L"morestack: screen: GOP mode %d of %d, %dx%d; the firmware's mode %d, %dx%d, %s\n",
	      bi->fb_mode, bi->fb_modes, info->HorizontalResolution, info->VerticalResolution, before,
	      before_w, before_h, how[bi->fb_choice]);
	switch (info->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor: bi->fb_format = FB_RGBX; break;
	case PixelBlueGreenRedReserved8BitPerColor: bi->fb_format = FB_BGRX; break;
	case PixelBitMask: bi->fb_format = FB_BITMASK; break;
	default: return; /* PixelBltOnly: no linear framebuffer to draw on */
	}
	bi->fb_base = gop->Mode->FrameBufferBase;
	bi->fb_size = gop->Mode->FrameBufferSize;
	bi->fb_width = info->HorizontalResolution;
	bi->fb_height = info->VerticalResolution;
	bi->fb_pixels_per_line = info->PixelsPerScanLine;
	bi->fb_red_mask = info->PixelInformation.RedMask;
	bi->fb_green_mask = info->PixelInformation.GreenMask;
	bi->fb_blue_mask = info->PixelInformation.BlueMask;
}

/*
 * Loads the embedded kernel: every PT_LOAD segment at its offset from the
 * lowest one, into one fresh run of pages. Returns the entry point (a
 * KERNEL_BASE address) or 0 with a message.
 */
static UINT64 load_kernel(struct boot_info *bi)
{
	const struct elf64_ehdr *eh = (const VOID *)kernel_elf_start;
	UINT64 file_size = kernel_elf_end - kernel_elf_start;
	if (file_size < sizeof(*eh) || *(const UINT32 *)eh->ident != ELF_MAGIC ||
	    eh->ident[4] != ELFCLASS64 || eh->machine != EM_X86_64) {
		Print(L"morestack: the embedded kernel is not an x86-64 ELF64 file\n");
		return 0;
	}
	const struct elf64_phdr *ph = (const VOID *)(kernel_elf_start + eh->phoff);
	UINT64 lo = ~0ULL, hi = 0;
	for (UINTN i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD)
			continue;
		if (ph[i].vaddr < lo) lo = ph[i].vaddr;
		if (ph[i].vaddr + ph[i].memsz > hi) hi = ph[i].vaddr + ph[i].memsz;
	}
	if (lo != KERNEL_BASE || hi <= lo || hi - lo > (1ULL << 30)) {
		Print(L"morestack: kernel segments span %lx-%lx, expected to start at %lx\n",
		      lo, hi, KERNEL_BASE);
		return 0;
	}
	UINT64 size = (hi - lo + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1), phys;
	UINT8 *dst = alloc_pages(size / PAGE_SIZE, &phys);
	UINT64 elf_phys;
	VOID *elf_copy = alloc_pages((file_size + PAGE_SIZE - 1) / PAGE_SIZE, &elf_phys);
	if (!dst || !elf_copy) {
		Print(L"morestack: out of memory loading the kernel (%ld KiB)\n", size >> 10);
		return 0;
	}
	for (UINTN i = 0; i < eh->phnum; i++)
		if (ph[i].type == PT_LOAD)
			CopyMem(dst + (ph[i].vaddr - lo), kernel_elf_start + ph[i].offset, ph[i].filesz);
	CopyMem(elf_copy, kernel_elf_start, file_size);
	bi->kernel_phys = phys;
	bi->kernel_virt = lo;
	bi->kernel_size = size;
	bi->elf_phys = elf_phys;
	bi->elf_size = file_size;
	return eh->entry;
}

/* The highest physical address in the memory map, clamped to what the bootstrap tables cover. */
static UINT64 max_phys_address(void)
{
	UINTN entries, key, desc_size;
	UINT32 version;
	EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &version);
	UINT64 top = BOOT_MAP_MIN;
	for (UINTN i = 0; map && i < entries; i++) {
		EFI_MEMORY_DESCRIPTOR *d = (VOID *)((UINT8 *)map + i * desc_size);
		UINT64 end = d->PhysicalStart + d->NumberOfPages * PAGE_SIZE;
		if (end > top) top = end;
	}
	if (map)
		FreePool(map);
	return top > BOOT_MAP_MAX ? BOOT_MAP_MAX : top;
}

/* Does the CPU have the NX bit (CPUID 0x80000001, EDX bit 20)? */
static int cpu_has_nx(void)
{
	UINT32 a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000));
	if (a < 0x80000001)
		return 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001));
	return (d >> 20) & 1;
}

/* Leaf rights for the kernel page at virtual address va, from its segment's ELF flags. */
static UINT64 kernel_page_flags(UINT64 va, UINT64 nx)
{
	const struct elf64_ehdr *eh = (const VOID *)kernel_elf_start;
	const struct elf64_phdr *ph = (const VOID *)(kernel_elf_start + eh->phoff);
	for (UINTN i = 0; i < eh->phnum; i++) {
		if (ph[i].type != PT_LOAD || va < (ph[i].vaddr & ~(PAGE_SIZE - 1)) ||
		    va >= ph[i].vaddr + ph[i].memsz)
			continue;
		if (ph[i].flags & PF_W)
			return PTE_P | PTE_W | nx;
		return PTE_P | (ph[i].flags & PF_X ? 0 : nx);
	}
	return 0; /* a gap between segments: leave it unmapped */
}

/*
 * Bootstrap page tables, live from the jump to the kernel until vm_init:
 *   PML4[0]    identity map, 2 MiB pages, read-only + executable: only the
 *              loader's last instructions run from it (mov cr3; jmp);
 *   PML4[256]  direct map at PHYS_OFFSET, 2 MiB pages, read/write + NX;
 *   PML4[511]  the kernel image at KERNEL_BASE, 4 KiB pages, with the rights
 *              of each ELF segment (text RX, rodata R, data RW+NX).
 * So no page is writable and executable even in this short window.
 */
static UINT64 build_boot_tables(struct boot_info *bi, UINT64 *nx_out)
{
	UINT64 nx = cpu_has_nx() ? PTE_NX : 0;
	UINT64 top = max_phys_address();
	UINT64 pds = (top + (1ULL << 30) - 1) >> 30;
	UINT64 pts = (bi->kernel_size + LARGE_PAGE_SIZE - 1) / LARGE_PAGE_SIZE;
	UINT64 pages = 1 + 2 * (1 + pds) + 1 + 1 + pts, phys;
	UINT64 *t = alloc_pages(pages, &phys);
	if (!t)
		return 0;
	UINT64 *pml4 = t, *id_pdpt = t + 512, *id_pd = id_pdpt + 512;
	UINT64 *dm_pdpt = id_pd + 512 * pds, *dm_pd = dm_pdpt + 512;
	UINT64 *kpdpt = dm_pd + 512 * pds, *kpd = kpdpt + 512, *kpt = kpd + 512;
#define PHYS_OF(p) ((UINT64)(p))
	pml4[0] = PHYS_OF(id_pdpt) | PTE_P | PTE_W;
	pml4[(PHYS_OFFSET >> 39) & 511] = PHYS_OF(dm_pdpt) | PTE_P | PTE_W;
	for (UINT64 i = 0; i < pds; i++) {
		id_pdpt[i] = PHYS_OF(id_pd + 512 * i) | PTE_P | PTE_W;
		dm_pdpt[i] = PHYS_OF(dm_pd + 512 * i) | PTE_P | PTE_W;
		for (UINT64 j = 0; j < 512; j++) {
			UINT64 pa = (i << 30) + (j << 21);
			id_pd[512 * i + j] = pa | PTE_P | PTE_PS;
			dm_pd[512 * i + j] = pa | PTE_P | PTE_W | PTE_PS | nx;
		}
	}
	pml4[(KERNEL_BASE >> 39) & 511] = PHYS_OF(kpdpt) | PTE_P | PTE_W;
	kpdpt[(KERNEL_BASE >> 30) & 511] = PHYS_OF(kpd) | PTE_P | PTE_W;
	for (UINT64 i = 0; i < pts; i++)
		kpd[i] = PHYS_OF(kpt + 512 * i) | PTE_P | PTE_W;
	for (UINT64 off = 0; off < bi->kernel_size; off += PAGE_SIZE) {
		UINT64 flags = kernel_page_flags(bi->kernel_virt + off, nx);
		if (flags)
			kpt[off / PAGE_SIZE] = (bi->kernel_phys + off) | flags;
	}
#undef PHYS_OF
	bi->boot_tables_phys = phys;
	bi->boot_tables_pages = pages;
	*nx_out = nx;
	return phys;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	UINT64 tsc0 = rdtsc();
	InitializeLib(image, systab);
	BS->SetWatchdogTimer(0, 0, 0, NULL);

	UINT64 bi_phys;
	struct boot_info *bi = alloc_pages(1, &bi_phys);
	if (!bi) {
		Print(L"morestack: cannot allocate the boot info page\n");
		return EFI_OUT_OF_RESOURCES;
	}
	bi->magic = BOOT_INFO_MAGIC;
	bi->tsc_at_efi_main = tsc0;
	bi->tsc_hz = measure_tsc_hz();
	bi->runtime_services = (UINT64)ST->RuntimeServices;
	bi->firmware_revision = ST->FirmwareRevision;
	for (UINTN i = 0; i < sizeof(bi->firmware_vendor) - 1 && ST->FirmwareVendor[i]; i++)
		bi->firmware_vendor[i] = ST->FirmwareVendor[i] < 128 ? (char)ST->FirmwareVendor[i] : '?';
	find_config_tables(bi);
	find_framebuffer(bi);

	UINT64 entry = load_kernel(bi);
	if (!entry)
		return EFI_LOAD_ERROR;
	UINT64 nx = 0;
	UINT64 pml4 = build_boot_tables(bi, &nx);
	if (!pml4) {
		Print(L"morestack: out of memory for the bootstrap page tables\n");
		return EFI_OUT_OF_RESOURCES;
	}
	Print(L"morestack: kernel %ld KiB at phys %lx, exiting boot services\n",
	      bi->kernel_size >> 10, bi->kernel_phys);

	/* Room for the map plus slack for what allocating the room itself adds. */
	UINTN map_size = 0, key, desc_size;
	UINT32 desc_version;
	BS->GetMemoryMap(&map_size, NULL, &key, &desc_size, &desc_version);
	UINTN capacity = map_size + 32 * desc_size;
	UINT64 map_phys;
	VOID *map = alloc_pages((capacity + PAGE_SIZE - 1) / PAGE_SIZE, &map_phys);
	if (!map) {
		Print(L"morestack: cannot allocate %ld bytes for the memory map\n", capacity);
		return EFI_OUT_OF_RESOURCES;
	}

	/* Nothing may allocate between GetMemoryMap and ExitBootServices. */
	EFI_STATUS st = EFI_SUCCESS;
	UINT32 tries;
	for (tries = 1; tries <= 8; tries++) {
		map_size = capacity;
		st = BS->GetMemoryMap(&map_size, map, &key, &desc_size, &desc_version);
		if (EFI_ERROR(st))
			break;
		st = BS->ExitBootServices(image, key);
		if (!EFI_ERROR(st))
			break;
	}
	if (EFI_ERROR(st)) {
		Print(L"morestack: ExitBootServices failed after %d tries: %r\n", tries, st);
		return st;
	}

	/* Boot services are gone: no Print, no allocation from here on. */
	bi->mmap_phys = map_phys;
	bi->mmap_size = map_size;
	bi->mmap_desc_size = desc_size;
	bi->mmap_desc_version = desc_version;
	bi->exit_boot_tries = tries;
	__asm__ volatile("cli" ::: "memory");
	if (nx) { /* NX is a reserved bit, and faults, until EFER.NXE is set */
		UINT32 lo, hi;
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_EFER));
		UINT64 efer = ((UINT64)hi << 32 | lo) | EFER_NXE;
		__asm__ volatile("wrmsr" : : "c"(MSR_EFER), "a"((UINT32)efer), "d"((UINT32)(efer >> 32)));
	}
	__asm__ volatile("mov %0, %%cr3\n\t"
			 "mov %1, %%rdi\n\t"
			 "jmp *%2"
			 :
			 : "r"(pml4), "r"(bi_phys), "r"(entry)
			 : "rdi", "memory");
	__builtin_unreachable();
}
