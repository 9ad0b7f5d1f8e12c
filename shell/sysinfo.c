/*
 * sysinfo.c: the `sysinfo [SECTION]` command: what this machine is, as the
 * kernel found it: the CPU (CPUID) and the features morestack uses, memory,
 * the firmware, its ACPI tables (checksums checked), the PCI devices, the
 * screen mode the loader chose, keyboards and the serial line. Every fact
 * is read live or from what boot recorded; nothing is assumed.
 */
#include "acpi.h"
#include "fbcon.h"
#include "input.h"
#include "kernel.h"
#include "pci.h"
#include "shell.h"
#include "usb.h"
#include "x86.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* A CPU feature, and whether (and why) morestack relies on it. */
struct feature {
	const char *name;
	uint32_t leaf, reg, bit; /* reg: 0 eax .. 3 edx */
	const char *use;         /* NULL: not used */
};

static const struct feature features[] = {
	{ "nx", 0x80000001, 3, 20, "required: W^X page tables (vm.c)" },
	{ "pat", 1, 3, 16, "the framebuffer mapped write-combining (fbcon.c)" },
	{ "tsc", 1, 3, 4, "boot timing, bench, timeouts" },
	{ "invariant-tsc", 0x80000007, 3, 8, NULL },
	{ "rdtscp", 0x80000001, 3, 27, NULL },
	{ "fsgsbase", 7, 1, 0, NULL },
	{ "1g-pages", 0x80000001, 3, 26, NULL },
	{ "xsave", 1, 2, 26, NULL },
	{ "x2apic", 1, 2, 21, NULL },
	{ "hypervisor", 1, 2, 31, NULL },
};

static void show_cpu(void)
{
	uint32_t r[4], max, ext_max;
	char vendor[13], brand[49];
	cpuid(0, 0, r);
	max = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	cpuid(0x80000000, 0, r);
	ext_max = r[0];
	brand[0] = '\0';
	if (ext_max >= 0x80000004) {
		for (uint32_t i = 0; i < 3; i++) {
			cpuid(0x80000002 + i, 0, r);
			memcpy(brand + 16 * i, r, 16);
		}
		brand[48] = '\0';
	}
	const char *b = brand;
	while (*b == ' ')
		b++;
	cpuid(1, 0, r);
	uint32_t family = (r[0] >> 8) & 0xf, model = (r[0] >> 4) & 0xf, stepping = r[0] & 0xf;
	if (family == 0xf)
		family += (r[0] >> 20) & 0xff;
	if (family == 0x6 || family >= 0xf)
		model |= ((r[0] >> 16) & 0xf) << 4;
	kprintf("cpu: vendor %s, \"%s\", family %u model %u stepping %u (CPUID leaves to %#x and "
		"%#x)\n", vendor, *b ? b : "(no brand string)", family, model, stepping, max, ext_max);
	kprintf("cpu features:\n");
	for (unsigned i = 0; i < sizeof features / sizeof features[0]; i++) {
		const struct feature *f = &features[i];
		bool has = false;
		if ((f->leaf < 0x80000000 ? max : ext_max) >= f->leaf) {
			cpuid(f->leaf, 0, r);
			has = (r[f->reg] >> f->bit) & 1;
		}
		kprintf("  %-14s %-3s  %s\n", f->name, has ? "yes" : "no",
			f->use ? f->use : "not used by morestack");
	}
}

static void show_memory(void)
{
	uint64_t ram = 0;
	for (int i = 0; i < mem_range_count; i++)
		if (mem_type_is_ram(mem_ranges[i].type))
			ram += mem_ranges[i].pages;
	kprintf("memory: %lu MiB of RAM in the UEFI map (%d ranges); the page allocator manages "
		"%lu MiB, %lu MiB free (%lu pages)\n", ram >> 8, mem_range_count,
		phys_pages.managed >> 8, phys_pages.free >> 8, phys_pages.free);
}

static void show_firmware(void)
{
	kprintf("firmware: %s, revision %#x (%u.%u); UEFI runtime services at %#lx; memory "
		"attributes table: %s\n", boot_info.firmware_vendor, boot_info.firmware_revision,
		boot_info.firmware_revision >> 16, boot_info.firmware_revision & 0xffff,
		boot_info.runtime_services, boot_info.mat_phys ? "yes" : "no");
}

static const char *table_state(const struct acpi_table *t)
{
	switch (t->state) {
	case ACPI_TABLE_OK: return "ok";
	case ACPI_TABLE_BAD_CHECKSUM: return "BAD CHECKSUM: not used";
	case ACPI_TABLE_UNREADABLE: return "UNREADABLE: not used";
	case ACPI_TABLE_BAD_LENGTH: return "BAD LENGTH: not used";
	}
	return "?";
}

static void describe_gas(char *buf, size_t cap, const struct acpi_gas *g)
{
	if (!g->address)
		ksnprintf(buf, cap, "none");
	else if (g->space == ACPI_SPACE_IO)
		ksnprintf(buf, cap, "port %#lx", g->address);
	else if (g->space == ACPI_SPACE_MEMORY)
		ksnprintf(buf, cap, "memory %#lx", g->address);
	else if (g->space == ACPI_SPACE_PCI)
		ksnprintf(buf, cap, "PCI config %#lx", g->address);
	else
		ksnprintf(buf, cap, "space %u at %#lx", g->space, g->address);
}

static void show_acpi(void)
{
	const struct acpi_info *a = acpi();
	if (!a->rsdp_ok) {
		kprintf("acpi: none usable (RSDP at %#lx): %s\n", boot_info.acpi_rsdp, a->problem);
		return;
	}
	kprintf("acpi: RSDP at %#lx, revision %u, OEM %s; %s at %#lx; %d tables, %d bad%s\n",
		a->rsdp_phys, a->rsdp_revision, a->rsdp_oem, a->root_is_xsdt ? "XSDT" : "RSDT",
		a->root_phys, a->count, a->bad, a->dropped ? " (more not listed)" : "");
	if (a->problem[0])
		kprintf("  problem: %s\n", a->problem);
	kprintf("  %-4s %8s %3s %-6s %-18s %s\n", "sig", "length", "rev", "OEM", "at", "checksum");
	for (int i = 0; i < a->count; i++) {
		const struct acpi_table *t = &a->tables[i];
		kprintf("  %-4s %8u %3u %-6s %#-18lx %s%s\n", t->signature, t->length, t->revision,
			t->oem_id, t->phys, table_state(t), t->from_fadt ? " (from the FADT)" : "");
	}
	if (a->fadt_ok) {
		char pm1a[40], pm1b[40], reset[40];
		describe_gas(pm1a, sizeof pm1a, &a->pm1a_cnt);
		describe_gas(pm1b, sizeof pm1b, &a->pm1b_cnt);
		describe_gas(reset, sizeof reset, &a->reset_reg);
		kprintf("  FADT: revision %u, SCI IRQ %u, SMI_CMD %#x, PM1a_CNT %s, PM1b_CNT %s\n",
			a->fadt_revision, a->sci_int, a->smi_cmd, pm1a, pm1b);
		kprintf("  FADT: reset register %s <- %#x (%s), 8042 keyboard controller: %s\n", reset,
			a->reset_value,
			a->fadt_flags & ACPI_FADT_RESET_REG_SUP ? "supported" : "not flagged supported",
			a->iapc_boot_arch & ACPI_BOOT_ARCH_8042 ? "yes" : "not flagged");
	}
	if (a->s5 == ACPI_S5_FOUND)
		kprintf("  DSDT: \\_S5_ SLP_TYPa %u, SLP_TYPb %u\n", a->slp_typa, a->slp_typb);
	else
		kprintf("  DSDT: \\_S5_ %s\n", a->s5 == ACPI_S5_MALFORMED ? "malformed" : "not found");
	for (int i = 0; i < a->mcfg_count; i++)
		kprintf("  MCFG: segment %u, buses %u-%u, ECAM at %#lx\n", a->mcfg[i].segment,
			a->mcfg[i].bus_start, a->mcfg[i].bus_end, a->mcfg[i].base);
	if (!acpi_find(a, "MCFG"))
		kprintf("  MCFG: none\n");
}

static void show_bars(const struct pci_dev *d)
{
	for (int i = 0; i < 6; i++) {
		struct pci_bar bar;
		if (pci_bar(d, i, &bar) != 0 || !bar.size)
			continue;
		uint64_t sz = bar.size;
		const char *unit = "bytes";
		if (sz >= (1UL << 20) && !(sz & ((1UL << 20) - 1))) {
			sz >>= 20;
			unit = "MiB";
		} else if (sz >= 1024 && !(sz & 1023)) {
			sz >>= 10;
			unit = "KiB";
		}
		kprintf("      BAR%d %s%s at %#lx, %lu %s%s\n", i, bar.io ? "io" : "mem",
			bar.io ? "" : bar.is64 ? "64" : "32", bar.base, sz, unit,
			bar.prefetchable ? ", prefetchable" : "");
	}
}

static void show_capabilities(const struct pci_dev *d)
{
	char line[160];
	size_t n = 0;
	int guard;
	for (uint8_t p = pci_next_capability(d, 0, &guard); p && n < sizeof line - 24;
	     p = pci_next_capability(d, p, &guard)) {
		uint8_t id = pci_read8(d, p);
		const char *name = id == PCI_CAP_PM ? "PM" : id == PCI_CAP_MSI ? "MSI"
				 : id == PCI_CAP_VENDOR ? "vendor" : id == PCI_CAP_EXPRESS ? "PCIe"
				 : id == PCI_CAP_MSIX ? "MSI-X" : NULL;
		n += (size_t)(name ? ksnprintf(line + n, sizeof line - n, " %s@%#x", name, p)
				   : ksnprintf(line + n, sizeof line - n, " %#x@%#x", id, p));
	}
	if (n)
		kprintf("      capabilities:%s\n", line);
}

static void show_pci(void)
{
	char how[120];
	kprintf("pci: %d functions; configuration space through %s\n", pci_count(),
		pci_access_describe(how, sizeof how));
	for (int i = 0; i < pci_count(); i++) {
		const struct pci_dev *d = pci_device(i);
		kprintf("  %02x:%02x.%u %04x:%04x class %02x/%02x/%02x %s\n", d->bus, d->dev, d->fn,
			d->vendor, d->device, d->class, d->subclass, d->prog_if,
			pci_class_name(d->class, d->subclass, d->prog_if));
		show_bars(d);
		show_capabilities(d);
	}
}

static void show_screen(void)
{
	char console[160];
	if (boot_info.fb_choice == FB_CHOICE_NO_GOP || !boot_info.fb_base) {
		kprintf("screen: none (%s)\n", boot_info.fb_choice == FB_CHOICE_NO_GOP
						     ? "the firmware has no graphics output protocol"
						     : "the GOP mode has no linear framebuffer");
		return;
	}
	static const char *const formats[] = { "none", "RGBX", "BGRX", "bit masks" };
	kprintf("screen: GOP mode %u of %u modes, %ux%u, %u pixels a line, %s, framebuffer at "
		"%#lx (%lu KiB)\n", boot_info.fb_mode, boot_info.fb_modes, boot_info.fb_width,
		boot_info.fb_height, boot_info.fb_pixels_per_line,
		formats[boot_info.fb_format < 4 ? boot_info.fb_format : 0], boot_info.fb_base,
		boot_info.fb_size >> 10);
	kprintf("  chosen: %s (firmware's mode %u)\n", fb_choice_name(boot_info.fb_choice),
		boot_info.fb_firmware_mode);
	fbcon_describe(console, sizeof console);
	kprintf("  console: %s\n", console);
}

static void show_input(void)
{
	const struct acpi_info *a = acpi();
	bool controller = inb(0x64) != 0xff;
	kprintf("keyboards: PS/2: %s; the FADT %s an 8042\n",
		ps2_ready() ? "keyboard working (i8042)"
		: controller ? "controller present, no keyboard in use"
			     : "no controller (port 0x64 reads 0xff)",
		!a->fadt_ok ? "is missing: it cannot say if there is"
		: a->iapc_boot_arch & ACPI_BOOT_ARCH_8042 ? "flags" : "does not flag");
	int xhci = 0, usb = 0;
	for (const struct pci_dev *d = pci_find_class(0x0c, 0x03, -1, NULL); d;
	     d = pci_find_class(0x0c, 0x03, -1, d)) {
		usb++;
		xhci += d->prog_if == 0x30;
	}
	kprintf("  USB: %d controllers (%d xHCI)\n", usb, xhci);
	usb_describe_controllers("    "); /* usb.c: one line each, with its keyboards */
}

static void show_serial(void)
{
	uint8_t lsr = inb(0x3f8 + 5);
	if (lsr == 0xff)
		kprintf("serial: COM1 (0x3f8): absent (its line status register reads 0xff)\n");
	else
		kprintf("serial: COM1 (0x3f8): 16550 present, 115200 8N1 (line status %#x)\n", lsr);
}

struct section {
	const char *name;
	void (*show)(void);
};

static const struct section sections[] = {
	{ "cpu", show_cpu },       { "memory", show_memory }, { "firmware", show_firmware },
	{ "acpi", show_acpi },     { "pci", show_pci },       { "screen", show_screen },
	{ "keyboard", show_input }, { "serial", show_serial }, { NULL, NULL },
};

void cmd_sysinfo(int argc, char **argv)
{
	const struct section *only = NULL;
	if (argc == 2)
		for (const struct section *s = sections; s->name && !only; s++)
			if (strcmp(s->name, argv[1]) == 0)
				only = s;
	if (argc > 2 || (argc == 2 && !only)) {
		kprintf("sysinfo: usage: sysinfo [cpu|memory|firmware|acpi|pci|screen|keyboard|serial]\n");
		return;
	}
	for (const struct section *s = sections; s->name; s++)
		if (!only || s == only)
			s->show();
}
