/*
 * efi.c: what the firmware leaves the kernel after ExitBootServices: its
 * ACPI tables (mapped and parsed once, by acpi.c), and the ways to reboot
 * and power off, each tried in turn and each reported when it fails.
 *
 *   poweroff: efi   UEFI ResetSystem(EfiResetShutdown)
 *             acpi  SLP_TYPa/b of the DSDT's \_S5_ with SLP_EN into the
 *                   FADT's PM1a_CNT (and PM1b_CNT), after enabling ACPI
 *                   mode through SMI_CMD if SCI_EN is off
 *   reboot:   efi   ResetSystem(EfiResetCold)
 *             acpi  the FADT's RESET_REG <- RESET_VALUE, if flagged supported
 *             cf9   the chipset's reset control register, 0xcf9 <- 2 then 6
 *             kbd   the keyboard controller's reset line, 0x64 <- 0xfe
 *             triple an empty IDT and an exception: the CPU shuts down and
 *                   the chipset resets it
 *
 * Invariants: each method runs with interrupts off (nothing of ours may
 * run while the firmware or the chipset is half-way through) and is given
 * POWER_WAIT_MS to act before it is declared failed; a method named by the
 * user that fails returns to the shell with the interrupt flag restored.
 * ResetSystem is called in place (identity mapped, see vm.c) with the
 * Microsoft x64 calling convention UEFI uses.
 */
#include "acpi.h"
#include "kernel.h"
#include "pci.h"
#include "x86.h"

#define POWER_WAIT_MS 500

enum efi_reset_type { EFI_RESET_COLD = 0, EFI_RESET_WARM = 1, EFI_RESET_SHUTDOWN = 2 };

typedef void(__attribute__((ms_abi)) *efi_reset_system)(int type, uint64_t status, uint64_t size,
							  void *data);

/* EFI_RUNTIME_SERVICES (UEFI spec 2.10, 4.5): a 24-byte header, then pointers. */
struct efi_runtime_services {
	uint8_t header[24];
	void *get_time, *set_time, *get_wakeup_time, *set_wakeup_time;
	void *set_virtual_address_map, *convert_pointer;
	void *get_variable, *get_next_variable_name, *set_variable;
	void *get_next_high_monotonic_count;
	efi_reset_system reset_system;
};

static inline uint16_t inw_port(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- ACPI tables: mapped read-only, parsed once ---- */

static struct acpi_info acpi_tables;

/*
 * acpi.c's mapping function. ACPI tables normally sit in ACPI reclaim or
 * NVS memory, which the direct map already covers; tables some firmware
 * leaves in reserved memory get their pages added to the direct map at
 * the same place, read-only and never executable.
 */
const void *acpi_map_phys(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx;
	if (!len || phys + len < phys || phys + len > PHYS_MAP_MAX)
		return NULL;
	for (uint64_t p = phys & ~(PAGE_SIZE - 1); p < phys + len; p += PAGE_SIZE)
		if (!vm_is_mapped(PHYS_OFFSET + p, 1) &&
		    pt_map(&kernel_pt_env, vm_root(), PHYS_OFFSET + p, p, PAGE_SIZE, PTE_NX, 0) != PT_OK)
			return NULL;
	return phys_to_virt(phys);
}

void acpi_init(void)
{
	const struct acpi_info *a = &acpi_tables;
	uint64_t t0 = rdtsc();
	if (acpi_parse(&acpi_tables, boot_info.acpi_rsdp, acpi_map_phys, NULL) < 0) {
		kprintf("acpi: no usable tables: %s\n", a->problem);
		return;
	}
	kprintf("acpi: RSDP rev %u (%s) -> %s, %d tables, %d bad%s%s; \\_S5_ %s; read in %lu us\n",
		a->rsdp_revision, a->rsdp_oem, a->root_is_xsdt ? "XSDT" : "RSDT", a->count, a->bad,
		a->problem[0] ? "; " : "", a->problem,
		a->s5 == ACPI_S5_FOUND ? "found" : a->s5 == ACPI_S5_MALFORMED ? "malformed" : "missing",
		tsc_to_us(rdtsc() - t0));
}

const struct acpi_info *acpi(void)
{
	return &acpi_tables;
}

/* What the loader did about the screen mode, in words (for the boot log and sysinfo). */
const char *fb_choice_name(uint32_t choice)
{
	switch (choice) {
	case FB_CHOICE_NO_GOP: return "no graphics output protocol: no screen";
	case FB_CHOICE_KEPT: return "the firmware's mode, kept (it has 80x25 cells)";
	case FB_CHOICE_SWITCHED: return "switched: the firmware's mode had no 80x25 cells";
	case FB_CHOICE_NONE_FITS: return "the firmware's mode: no mode has 80x25 cells";
	case FB_CHOICE_SETMODE_FAILED: return "the firmware's mode: SetMode failed";
	}
	return "unknown";
}

void firmware_init(void)
{
	acpi_init();
	pci_init();
	if (boot_info.fb_choice == FB_CHOICE_NO_GOP)
		kprintf("screen mode: none: the firmware has no graphics output (GOP); serial only\n");
	else
		kprintf("screen mode: GOP mode %u of %u, %ux%u: %s (firmware's mode %u)\n",
			boot_info.fb_mode, boot_info.fb_modes, boot_info.fb_width, boot_info.fb_height,
			fb_choice_name(boot_info.fb_choice), boot_info.fb_firmware_mode);
}

/* ---- the methods ---- */

static void wait_ms(uint64_t ms)
{
	if (!boot_info.tsc_hz) {
		for (uint64_t i = 0; i < ms * 100000; i++)
			pause();
		return;
	}
	uint64_t end = rdtsc() + boot_info.tsc_hz / 1000 * ms;
	while (rdtsc() < end)
		pause();
}

/* Calls ResetSystem; returns (with a reason) if it cannot or if it returns. */
static bool efi_reset(enum efi_reset_type type, const char *who)
{
	const struct efi_runtime_services *rt = (const void *)boot_info.runtime_services;
	if (!rt || !vm_is_mapped((uint64_t)rt, sizeof *rt)) {
		kprintf("%s: efi: the runtime services table is not mapped\n", who);
		return false;
	}
	if (!rt->reset_system || !vm_is_mapped((uint64_t)rt->reset_system, 1)) {
		kprintf("%s: efi: ResetSystem is not mapped\n", who);
		return false;
	}
	vm_map_runtime_writable();
	rt->reset_system(type, 0, 0, NULL);
	kprintf("%s: efi: ResetSystem(%d) returned\n", who, type);
	return false;
}

static bool efi_shutdown(void) { return efi_reset(EFI_RESET_SHUTDOWN, "poweroff"); }
static bool efi_cold(void) { return efi_reset(EFI_RESET_COLD, "reboot"); }

/* Writes a PM1x_CNT register given by a GAS, if it is a port we can reach. */
static bool pm1_write(const struct acpi_gas *g, const char *name, uint8_t slp_typ)
{
	if (g->space != ACPI_SPACE_IO || g->address > 0xffff) {
		kprintf("poweroff: acpi: %s is in address space %u at %#lx: only I/O ports are "
			"supported\n", name, g->space, g->address);
		return false;
	}
	uint16_t port = (uint16_t)g->address;
	uint16_t v = (uint16_t)((inw_port(port) & ~(7u << 10)) | (uint16_t)(slp_typ << 10) |
				(1u << 13));
	kprintf("poweroff: acpi: %s port %#x <- %#x (SLP_TYP %u, SLP_EN)\n", name, port, v, slp_typ);
	outw(port, v);
	return true;
}

static bool acpi_shutdown(void)
{
	const struct acpi_info *a = acpi();
	if (!a->fadt_ok || !a->pm1a_cnt.address) {
		kprintf("poweroff: acpi: no good FADT with a PM1a_CNT block\n");
		return false;
	}
	if (a->s5 != ACPI_S5_FOUND) {
		kprintf("poweroff: acpi: the DSDT's \\_S5_ is %s: no SLP_TYP to write\n",
			a->s5 == ACPI_S5_MALFORMED ? "malformed" : "missing");
		return false;
	}
	/* SCI_EN (PM1_CNT bit 0) off means the firmware still owns the
	 * hardware (legacy mode): ask it to hand over, as an OS does. */
	if (a->pm1a_cnt.space == ACPI_SPACE_IO && !(inw_port((uint16_t)a->pm1a_cnt.address) & 1) &&
	    a->smi_cmd && a->acpi_enable) {
		kprintf("poweroff: acpi: enabling ACPI mode (SMI_CMD %#x <- %#x)\n", a->smi_cmd,
			a->acpi_enable);
		outb((uint16_t)a->smi_cmd, a->acpi_enable);
		for (int i = 0; i < 300 && !(inw_port((uint16_t)a->pm1a_cnt.address) & 1); i++)
			wait_ms(10);
	}
	if (!pm1_write(&a->pm1a_cnt, "PM1a_CNT", a->slp_typa))
		return false;
	if (a->pm1b_cnt.address)
		pm1_write(&a->pm1b_cnt, "PM1b_CNT", a->slp_typb);
	return true;
}

static bool acpi_reset(void)
{
	const struct acpi_info *a = acpi();
	const struct acpi_gas *r = &a->reset_reg;
	if (!a->fadt_ok) {
		kprintf("reboot: acpi: no good FADT\n");
		return false;
	}
	if (!(a->fadt_flags & ACPI_FADT_RESET_REG_SUP) || !r->address) {
		kprintf("reboot: acpi: the FADT does not flag a reset register as supported\n");
		return false;
	}
	switch (r->space) {
	case ACPI_SPACE_IO:
		kprintf("reboot: acpi: RESET_REG port %#lx <- %#x\n", r->address, a->reset_value);
		outb((uint16_t)r->address, a->reset_value);
		return true;
	case ACPI_SPACE_PCI: {
		/* Segment 0, bus 0; device in bits 47-32, function 31-16, offset 15-0. */
		struct pci_dev d = { .bus = 0, .dev = (uint8_t)(r->address >> 32 & 31),
				     .fn = (uint8_t)(r->address >> 16 & 7) };
		uint16_t off = (uint16_t)r->address;
		kprintf("reboot: acpi: RESET_REG PCI 00:%02x.%u offset %#x <- %#x\n", d.dev, d.fn, off,
			a->reset_value);
		pci_write8(&d, off, a->reset_value);
		return true;
	}
	default:
		kprintf("reboot: acpi: RESET_REG is in address space %u at %#lx: only I/O ports and "
			"PCI configuration space are supported\n", r->space, r->address);
		return false;
	}
}

static bool cf9_reset(void)
{
	kprintf("reboot: cf9: reset control register 0xcf9 <- 0x2, then 0x6 (full reset)\n");
	outb(0xcf9, 0x02);
	wait_ms(1);
	outb(0xcf9, 0x06);
	return true;
}

static bool kbd_reset(void)
{
	if (inb(0x64) == 0xff) {
		kprintf("reboot: kbd: no keyboard controller (port 0x64 reads 0xff)\n");
		return false;
	}
	for (int i = 0; i < 1000 && (inb(0x64) & 0x02); i++) /* input buffer full: wait */
		wait_ms(1);
	kprintf("reboot: kbd: keyboard controller 0x64 <- 0xfe (pulse the reset line)\n");
	outb(0x64, 0xfe);
	return true;
}

static bool triple_fault(void)
{
	kprintf("reboot: triple: an empty IDT, then int3: #BP, #GP and #DF cannot be delivered, "
		"the CPU shuts down and the chipset resets it\n");
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty = { 0, 0 };
	__asm__ volatile("lidt %0; int3" : : "m"(empty) : "memory");
	return true;
}

struct power_method {
	const char *name;
	bool (*fn)(void); /* false: it could not even try (said why) */
};

static const struct power_method reboot_methods[] = {
	{ "efi", efi_cold }, { "acpi", acpi_reset }, { "cf9", cf9_reset },
	{ "kbd", kbd_reset }, { "triple", triple_fault }, { NULL, NULL },
};
static const struct power_method poweroff_methods[] = {
	{ "efi", efi_shutdown }, { "acpi", acpi_shutdown }, { NULL, NULL },
};

const char *power_methods(bool reboot)
{
	return reboot ? "efi|acpi|cf9|kbd|triple" : "efi|acpi";
}

/*
 * Tries method (NULL: each in order). Returns -1, doing nothing, for a
 * method it does not know; 1 when the named method did not work; without a
 * name it halts once every method has failed.
 */
static int power(const char *who, const struct power_method *methods, const char *method)
{
	const struct power_method *only = NULL;
	if (method) {
		for (const struct power_method *m = methods; m->name && !only; m++)
			if (strcmp(m->name, method) == 0)
				only = m;
		if (!only)
			return -1;
	}
	bool was_on = read_rflags() & (1u << 9);
	cli();
	for (const struct power_method *m = only ? only : methods; m->name; m++) {
		kprintf("%s: trying %s\n", who, m->name);
		if (m->fn()) {
			wait_ms(POWER_WAIT_MS);
			kprintf("%s: %s: still running %d ms later: it did not work\n", who, m->name,
				POWER_WAIT_MS);
		}
		if (only)
			break;
	}
	if (only) {
		if (was_on)
			sti();
		return 1;
	}
	return 0;
}

int machine_reboot(const char *method)
{
	if (!method)
		kprintf("rebooting...\n");
	int r = power("reboot", reboot_methods, method);
	if (r || method)
		return r;
	kernel_halt("reboot: no method worked; reset the machine by hand");
}

int machine_poweroff(const char *method)
{
	if (!method)
		kprintf("powering off...\n");
	int r = power("poweroff", poweroff_methods, method);
	if (r || method)
		return r;
	kernel_halt("poweroff: no method worked; it is safe to switch off");
}
