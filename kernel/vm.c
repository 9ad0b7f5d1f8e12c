/*
 * vm.c: the kernel's own page tables, built once at boot from the memory
 * map (see memlayout.h for the picture):
 *   - the kernel image at KERNEL_BASE: text RX, rodata R+NX, data/bss RW+NX;
 *   - every RAM range at PHYS_OFFSET + phys, RW+NX, 2 MiB pages where aligned;
 *   - UEFI runtime regions identity mapped, with the rights the firmware's
 *     memory attributes table gives each part of each runtime image;
 *   - kernel stacks in KSTACK_BASE slots, the bottom of each slot unmapped.
 * Nothing is writable and executable at once; `wx` checks it on the live
 * tables. Page 0 (and all of the low half but runtime regions) is unmapped.
 */
#include "kernel.h"
#include "x86.h"

#include "platform.h"
#include "rt.h"

#define KSTACK_PAGES 16 /* 64 KiB mapped at the top of each 1 MiB slot */

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[];

static uint64_t kernel_pml4;

static uint64_t alloc_zeroed_frame(void *ctx)
{
	(void)ctx;
	uint64_t f = pmem_alloc(&phys_pages);
	if (f)
		memset(phys_to_virt(f), 0, PAGE_SIZE);
	return f;
}

static void *direct_map(void *ctx, uint64_t phys)
{
	(void)ctx;
	return phys_to_virt(phys);
}

const struct pt_env kernel_pt_env = { alloc_zeroed_frame, direct_map, NULL };

static void map_or_panic(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags, int options,
			 const char *what)
{
	int err = pt_map(&kernel_pt_env, kernel_pml4, va, pa, size, flags, options);
	if (err)
		panic("vm_init: cannot map %s at %#lx (%lu KiB): error %d", what, va, size >> 10, err);
}

static uint64_t kernel_phys(const char *va)
{
	return boot_info.kernel_phys + ((uint64_t)va - KERNEL_BASE);
}

static void map_kernel_image(void)
{
	map_or_panic((uint64_t)__text_start, kernel_phys(__text_start), __text_end - __text_start,
		     0, 0, "kernel text");
	map_or_panic((uint64_t)__rodata_start, kernel_phys(__rodata_start),
		     __rodata_end - __rodata_start, PTE_NX, 0, "kernel rodata");
	map_or_panic((uint64_t)__data_start, kernel_phys(__data_start), __data_end - __data_start,
		     PTE_W | PTE_NX, 0, "kernel data");
}

/* Direct map: merge touching RAM ranges so large pages fit more often. */
static void map_direct(void)
{
	for (int i = 0; i < mem_range_count;) {
		if (!mem_type_is_ram(mem_ranges[i].type)) {
			i++;
			continue;
		}
		uint64_t base = mem_ranges[i].base, end = base + mem_ranges[i].pages * PAGE_SIZE;
		for (i++; i < mem_range_count && mem_type_is_ram(mem_ranges[i].type) &&
			  mem_ranges[i].base == end;
		     i++)
			end += mem_ranges[i].pages * PAGE_SIZE;
		/* 2 MiB pages need va and pa aligned alike: PHYS_OFFSET is, so split at 2 MiB. */
		uint64_t head = (base + LARGE_2M - 1) & ~(LARGE_2M - 1);
		uint64_t tail = end & ~(LARGE_2M - 1);
		if (head >= tail) {
			map_or_panic(PHYS_OFFSET + base, base, end - base, PTE_W | PTE_NX, 0, "RAM");
			continue;
		}
		if (head > base)
			map_or_panic(PHYS_OFFSET + base, base, head - base, PTE_W | PTE_NX, 0, "RAM");
		map_or_panic(PHYS_OFFSET + head, head, tail - head, PTE_W | PTE_NX, PT_MAP_LARGE, "RAM");
		if (end > tail)
			map_or_panic(PHYS_OFFSET + tail, tail, end - tail, PTE_W | PTE_NX, 0, "RAM");
	}
}

/* Rights for a runtime range: from the MAT's RO/XP bits, else from its type. */
static uint64_t runtime_flags(uint32_t type, uint64_t attr, bool from_mat)
{
	if (type == EFI_MMIO || type == EFI_MMIO_PORT_SPACE)
		return PTE_W | PTE_NX | PTE_PCD;
	if (from_mat && (attr & (MEM_ATTR_RO | MEM_ATTR_XP)))
		return (attr & MEM_ATTR_RO ? 0 : PTE_W) | (attr & MEM_ATTR_XP ? PTE_NX : 0);
	return type == EFI_RUNTIME_SERVICES_CODE ? 0 : PTE_W | PTE_NX;
}

static void map_runtime_pages(uint64_t base, uint64_t pages, uint64_t flags)
{
	for (uint64_t p = 0; p < pages; p++) {
		uint64_t a = base + p * PAGE_SIZE;
		struct pt_walk w;
		pt_walk(&kernel_pt_env, kernel_pml4, a, &w);
		if (!w.mapped)
			map_or_panic(a, a, PAGE_SIZE, flags, 0, "UEFI runtime region");
	}
}

/*
 * UEFI runtime services run on our page tables (we never call
 * SetVirtualAddressMap), so their regions stay at phys == virt. The memory
 * attributes table splits runtime images into RO code and NX data; map its
 * entries first, then whatever runtime memory it does not cover.
 */
static void map_runtime(void)
{
	if (boot_info.mat_phys) {
		const uint32_t *hdr = phys_to_virt(boot_info.mat_phys);
		const uint8_t *entries = (const uint8_t *)(hdr + 4);
		for (uint32_t i = 0; i < hdr[1]; i++) {
			const struct efi_memory_descriptor *d = (const void *)(entries + i * hdr[2]);
			map_runtime_pages(d->phys_start, d->pages,
					  runtime_flags(d->type, d->attribute, true));
		}
	}
	for (int i = 0; i < mem_range_count; i++) {
		struct mem_range *r = &mem_ranges[i];
		if (r->attribute & MEM_ATTR_RUNTIME)
			map_runtime_pages(r->base, r->pages, runtime_flags(r->type, 0, false));
	}
}

/* Top of kernel stack `slot` (mapped by vm_init for the slots in use). */
uint64_t vm_kernel_stack_top(int slot)
{
	return KSTACK_BASE + (uint64_t)(slot + 1) * KSTACK_SLOT;
}

/* Maps kernel stack `slot`: KSTACK_PAGES pages at the top of its slot. */
static void map_kernel_stack(int slot)
{
	uint64_t top = vm_kernel_stack_top(slot);
	for (uint64_t va = top - KSTACK_PAGES * PAGE_SIZE; va < top; va += PAGE_SIZE) {
		uint64_t f = pmem_alloc(&phys_pages);
		if (!f)
			panic("vm_init: out of frames for kernel stack %d", slot);
		map_or_panic(va, f, PAGE_SIZE, PTE_W | PTE_NX, 0, "kernel stack");
	}
}

/*
 * Builds the kernel page tables and switches to them. Turns on EFER.NXE
 * (else NX is a reserved bit) and CR0.WP (else ring 0 writes through
 * read-only pages). Only used when booting, on the loader's tables.
 */
void vm_init(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001));
	if (!(d & (1U << 20)))
		panic("vm_init: this CPU has no NX (execute-disable) bit; morestack's W^X page "
		      "tables need it");
	kernel_pml4 = alloc_zeroed_frame(NULL);
	if (!kernel_pml4)
		panic("vm_init: no frame for the PML4");
	map_kernel_image();
	map_direct();
	map_runtime();
	map_kernel_stack(0);
	map_kernel_stack(1); /* the runtime's own stack (runtime/task.c) */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | CR0_WP);
	write_cr3(kernel_pml4);
}

/* The bytes of each kernel stack that are mapped. */
uint64_t vm_kernel_stack_size(void)
{
	return KSTACK_PAGES * PAGE_SIZE;
}

uint64_t vm_root(void)
{
	return read_cr3() & PTE_ADDR;
}

/* True if every byte of [va, va+len) is mapped in the live tables. Never faults. */
bool vm_is_mapped(uint64_t va, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (uint64_t p = va & ~(PAGE_SIZE - 1); p < va + len; p += PAGE_SIZE) {
		if (!va_is_canonical(p))
			return false;
		struct pt_walk w;
		pt_walk(&kernel_pt_env, vm_root(), p, &w);
		if (!w.mapped)
			return false;
		if (p + PAGE_SIZE < p)
			break;
	}
	return true;
}

/* Says in words what region of memlayout.h va falls in, for fault reports. */
bool vm_describe_address(uint64_t va, char *buf, size_t cap)
{
	if (va < PAGE_SIZE) {
		ksnprintf(buf, cap, "in page 0, never mapped: a null pointer dereference");
		return true;
	}
	if (!va_is_canonical(va)) {
		ksnprintf(buf, cap, "not canonical: bits 63..47 differ, no page can map it");
		return true;
	}
	if (va >= KSTACK_BASE && va < KSTACK_BASE + 64 * KSTACK_SLOT) {
		int slot = (int)((va - KSTACK_BASE) / KSTACK_SLOT);
		uint64_t top = vm_kernel_stack_top(slot), lo = top - KSTACK_PAGES * PAGE_SIZE;
		if (va < lo)
			ksnprintf(buf, cap,
				  "in the guard region below kernel stack %d [%#lx, %#lx): "
				  "a kernel stack overflow",
				  slot, lo, top);
		else
			ksnprintf(buf, cap, "in kernel stack %d [%#lx, %#lx)", slot, lo, top);
		return true;
	}
	if (va >= TASK_STACK_BASE && va < KSTACK_BASE) {
		if (!rt_stack_describe(va, buf, cap))
			ksnprintf(buf, cap, "in the task stack region, in no stack the runtime knows");
		return true;
	}
	if (va >= CLOSURE_BASE && va < CLOSURE_BASE + CLOSURE_REGION) {
		ksnprintf(buf, cap, "in the closure trampoline region (%s page)",
			  (va - CLOSURE_BASE) / PAGE_SIZE % 2 ? "data" : "code");
		return true;
	}
	if (va >= KERNEL_BASE) {
		ksnprintf(buf, cap, "in the kernel image");
		return true;
	}
	if (va >= PHYS_OFFSET && va < PHYS_OFFSET + PHYS_MAP_MAX) {
		ksnprintf(buf, cap, "in the direct map (physical %#lx)", va - PHYS_OFFSET);
		return true;
	}
	return false;
}

/* The `pt ADDR` command: each level's entry for va, in words. */
void vm_show_walk(uint64_t va)
{
	static const char *const names[] = { "", "PT  ", "PD  ", "PDPT", "PML4" };
	struct pt_walk w;
	char words[160];
	pt_walk(&kernel_pt_env, vm_root(), va, &w);
	kprintf("pt %#018lx: PML4 index %lu, PDPT %lu, PD %lu, PT %lu, offset %#lx\n", va,
		(va >> 39) & 511, (va >> 30) & 511, (va >> 21) & 511, (va >> 12) & 511, va & 0xfff);
	kprintf("  CR3 -> PML4 at phys %#lx\n", vm_root());
	for (int i = 0; i < w.steps; i++) {
		struct pt_step *s = &w.step[i];
		kprintf("  %s[%3u] = %#018lx  %s\n", names[s->level], s->index, s->entry,
			pt_describe(s->entry, s->level, words, sizeof words));
	}
	if (!va_is_canonical(va)) {
		kprintf("  => not canonical: an access raises #GP before any table is read\n");
		return;
	}
	if (!w.mapped) {
		kprintf("  => not mapped: an access faults (#PF)\n");
		return;
	}
	kprintf("  => phys %#lx, %s page, %s, %s\n", w.phys,
		w.page_size == LARGE_2M ? "2 MiB" : w.page_size == PAGE_SIZE ? "4 KiB" : "1 GiB",
		w.writable ? "read/write" : "read-only", w.executable ? "executable" : "no-execute");
}

struct wx_audit {
	uint64_t pages, wx;
	bool list;
};

static void wx_visit(void *arg, const struct pt_leaf *leaf)
{
	struct wx_audit *a = arg;
	a->pages += leaf->size / PAGE_SIZE;
	if (leaf->writable && leaf->executable) {
		a->wx += leaf->size / PAGE_SIZE;
		if (a->list)
			kprintf("  W+X: %#018lx-%#018lx -> phys %#lx\n", leaf->va, leaf->va + leaf->size,
				leaf->phys);
	}
}

/* The `wx` command: walks every live mapping, reports pages both writable and executable. */
uint64_t vm_audit_wx(bool list)
{
	struct wx_audit a = { 0, 0, list };
	uint64_t leaves = pt_for_each(&kernel_pt_env, vm_root(), wx_visit, &a);
	kprintf("wx: %lu mappings covering %lu pages checked; %lu pages writable and executable\n",
		leaves, a.pages, a.wx);
	return a.wx;
}

/*
 * Without a memory attributes table, runtime code regions were mapped
 * read-only + executable; some firmware writes inside them. Called just
 * before ResetSystem, when W^X no longer matters, to make them writable.
 */
int vm_map_runtime_writable(void)
{
	if (boot_info.mat_phys)
		return 0;
	for (int i = 0; i < mem_range_count; i++) {
		struct mem_range *r = &mem_ranges[i];
		if (r->type != EFI_RUNTIME_SERVICES_CODE)
			continue;
		for (uint64_t p = 0; p < r->pages; p++)
			pt_set_flags(&kernel_pt_env, vm_root(), r->base + p * PAGE_SIZE, PTE_W, 0);
	}
	write_cr3(read_cr3());
	return 1;
}
