/*
 * main.c: the kernel's boot sequence, from the loader's jump to the shell.
 *
 * Order matters: serial first (so everything after can report), then our
 * GDT and IDT (so a fault is reported, not a triple fault), then the
 * memory map and physical pages, symbols, our page tables, our stack; only then
 * is loader memory given back and interrupts enabled.
 */
#include "fbcon.h"
#include "input.h"
#include "usb.h"
#include "kernel.h"
#include "demo.h"
#include "gdt.h"
#include "serial.h"
#include "shell.h"
#include "stop.h"
#include "trap.h"
#include "x86.h"

struct boot_info boot_info;

void kmain(uint64_t boot_info_phys);
void stack_switch(uint64_t rsp, void (*fn)(uint64_t), uint64_t arg);

uint64_t tsc_to_us(uint64_t ticks)
{
	return boot_info.tsc_hz ? ticks / (boot_info.tsc_hz / 1000000 ? boot_info.tsc_hz / 1000000 : 1)
				: 0;
}

/* Stops the kernel with a message and a backtrace of the caller. */
_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;
	cli();
	kprintf("\n*** panic: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n  backtrace (frame pointers):\n");
	backtrace_print((uint64_t)__builtin_return_address(0), read_rbp(), 32);
	kernel_halt("a kernel panic (above)");
}

_Noreturn void kernel_halt(const char *why)
{
	cli();
	kprintf("\n*** morestack has halted: %s.\n*** Nothing more will happen: switch the machine "
		"off or reset it.\n", why);
	qemu_exit_if_testing(QEMU_EXIT_KERNEL_FAULT);
	halt_forever();
}

static void serial_irq(int irq)
{
	(void)irq;
	input_drain_serial(); /* in order with the keyboard's bytes; Ctrl-C seen at once */
}

/* Second half of boot, on the kernel's own guarded stack. */
static void kmain_on_kernel_stack(uint64_t unused)
{
	(void)unused;
	memmap_reclaim_loader();
	console_start_screen();
	char screen[160];
	fbcon_describe(screen, sizeof screen);
	kprintf("screen console: %s\n", screen);
	kplat_init();
	pic_init();
	trap_set_irq_handler(4, serial_irq);
	pic_unmask(4);
	ps2_init();
	tick_init();
	firmware_init();
	usb_init(); /* after PCI (firmware_init): the USB keyboard */
	sti();
	shell_run();
}

/* Called by entry.S on boot_stack with the loader's page tables still live. */
void kmain(uint64_t boot_info_phys)
{
	serial_init();
	const struct boot_info *bi = phys_to_virt(boot_info_phys);
	if (bi->magic != BOOT_INFO_MAGIC) {
		kprintf("morestack: bad boot info magic %#lx at %#lx: was this kernel started by "
			"boot/loader.c?\n",
			bi->magic, boot_info_phys);
		halt_forever();
	}
	boot_info = *bi;
	kprintf("\nmorestack %s: kernel at %#lx (phys %#lx, %lu KiB), firmware %s rev %#x\n",
		VERSION, boot_info.kernel_virt, boot_info.kernel_phys, boot_info.kernel_size >> 10,
		boot_info.firmware_vendor, boot_info.firmware_revision);
	gdt_init();
	idt_init();
	demo_color = !under_test(); /* plain text for the test harness, ANSI for people */
	memmap_init();
	symbols_init();
	vm_init();
	stack_switch(vm_kernel_stack_top(0), kmain_on_kernel_stack, 0);
}
