/*
 * kernel.h: what kernel subsystems share. One line per thing; the
 * comments on the definitions say more.
 */
#ifndef MORESTACK_KERNEL_H
#define MORESTACK_KERNEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootinfo.h"
#include "console.h"
#include "format.h"
#include "pmem.h"
#include "kstring.h"
#include "memlayout.h"
#include "pagetable.h"
#include "symbols.h"

#define VERSION "0.1"

/* main.c */
extern struct boot_info boot_info; /* the loader's, copied into the kernel */
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last words of a machine that stops (on the serial line and the
 * screen, where most real PCs show them): that it halted and why, then,
 * under the test harness, QEMU ends with QEMU_EXIT_KERNEL_FAULT. */
_Noreturn void kernel_halt(const char *why);
uint64_t tsc_to_us(uint64_t ticks);

/* memmap.c: the UEFI memory map, compacted, and the physical page allocator fed from it */
struct mem_range {
	uint64_t base, pages, attribute;
	uint32_t type;
};
#define MEM_RANGES_MAX 1024
extern struct mem_range mem_ranges[MEM_RANGES_MAX];
extern int mem_range_count;
extern struct pmem phys_pages;
void memmap_init(void);
void memmap_reclaim_loader(void);
void memmap_print(bool verbose);
const char *mem_type_name(uint32_t type);
bool mem_type_is_ram(uint32_t type);

/* vm.c: the kernel's page tables */
extern const struct pt_env kernel_pt_env;
void vm_init(void);
uint64_t vm_root(void);
uint64_t vm_kernel_stack_top(int slot);
uint64_t vm_kernel_stack_size(void);
#define KSTACK_SLOT_RUNTIME 1 /* slot 0 is the kernel's own; 1 is the runtime's */
bool vm_is_mapped(uint64_t va, uint64_t len);
bool vm_describe_address(uint64_t va, char *buf, size_t cap);
void vm_show_walk(uint64_t va);
uint64_t vm_audit_wx(bool list);
int vm_map_runtime_writable(void);

/* symbolize.c */
extern struct symtab kernel_symbols;
void symbols_init(void);
int symbolize(uint64_t addr, char *buf, size_t cap);
void backtrace_print(uint64_t rip, uint64_t rbp, int max);

/* efi.c: method NULL tries every method in order (and halts if all fail);
 * a named one returns 1 if it did not work, -1 if there is no such method */
int machine_reboot(const char *method);
int machine_poweroff(const char *method);
const char *power_methods(bool reboot); /* "efi|acpi|..." */
void firmware_init(void); /* ACPI tables, PCI, the loader's screen mode: a line each */
const char *fb_choice_name(uint32_t choice); /* enum fb_choice in words */

/* pic.c */
void pic_init(void);
void pic_unmask(int irq);
void pic_mask(int irq);
void pic_eoi(int irq);
bool pic_spurious(int irq);

/* fwcfg.c: QEMU's firmware configuration device */
bool fwcfg_present(void);
bool fwcfg_flag(const char *name);
bool under_test(void);

/* qemu exit codes through isa-debug-exit; QEMU exits with (code << 1) | 1 */
#define QEMU_EXIT_KERNEL_FAULT 0x31 /* -> 99 */
void qemu_exit_if_testing(int code);

/* ports/platform_kernel.c: the runtime's platform on this machine */
void kplat_init(void);
uint64_t kplat_pool_pages(void); /* physical pages pooled for stacks */
uint64_t kplat_stack_tables(void); /* page tables under stack addresses, now */
struct trapframe;
struct rt_regs;
void kplat_regs_from_trap(const struct trapframe *tf, struct rt_regs *r);
void kplat_regs_to_trap(const struct rt_regs *r, struct trapframe *tf);
extern volatile int kplat_stress_hold; /* nonzero: a stress tick must not move a stack */
#endif
