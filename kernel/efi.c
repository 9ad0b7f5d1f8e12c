/*
 * efi.c: reboot and power-off through UEFI runtime services.
 *
 * After ExitBootServices only runtime services remain; we call ResetSystem
 * in place (identity mapped, see vm.c), with interrupts off, using the
 * Microsoft x64 calling convention UEFI uses. If the firmware returns or
 * lacks it, reboot falls back to the PCI reset port 0xCF9, then the
 * keyboard controller's reset line (0x64 <- 0xFE).
 */
#include "kernel.h"
#include "x86.h"

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

static void efi_reset(enum efi_reset_type type)
{
	const struct efi_runtime_services *rt = (const void *)boot_info.runtime_services;
	cli();
	if (!rt || !vm_is_mapped((uint64_t)rt, sizeof *rt)) {
		kprintf("efi: the runtime services table is not mapped\n");
		return;
	}
	if (!rt->reset_system || !vm_is_mapped((uint64_t)rt->reset_system, 1)) {
		kprintf("efi: ResetSystem is not mapped\n");
		return;
	}
	vm_map_runtime_writable();
	rt->reset_system(type, 0, 0, NULL);
	kprintf("efi: ResetSystem(%d) returned\n", type);
}

_Noreturn void machine_reboot(void)
{
	kprintf("rebooting...\n");
	efi_reset(EFI_RESET_COLD);
	kprintf("reboot: trying the reset control register 0xcf9\n");
	outb(0xcf9, 0x02);
	outb(0xcf9, 0x06);
	for (int i = 0; i < 1000000; i++)
		pause();
	kprintf("reboot: trying the keyboard controller\n");
	outb(0x64, 0xfe);
	for (int i = 0; i < 1000000; i++)
		pause();
	kprintf("reboot: nothing worked; halted. Reset the machine by hand.\n");
	halt_forever();
}

_Noreturn void machine_poweroff(void)
{
	kprintf("powering off...\n");
	efi_reset(EFI_RESET_SHUTDOWN);
	kprintf("poweroff: the firmware did not power off; halted. It is safe to switch off.\n");
	halt_forever();
}
