/*
 * memlayout.h: the whole virtual address space of morestack, in one place.
 *
 * x86-64 4-level paging translates 48-bit virtual addresses; bits 63..48
 * must copy bit 47 ("canonical"), which splits the space in two halves:
 *
 *   0xffffffffffffffff +--------------------------------+
 *                      | kernel image (text, rodata,    |  KERNEL_BASE: linked here,
 *                      | data, bss), at -2 GiB          |  -mcmodel=kernel
 *   0xffffffff80000000 +--------------------------------+
 *                      | ...                            |
 *   0xffffe00040000000 +--------------------------------+
 *                      | closure trampolines: pairs of  |  CLOSURE_BASE: 1 GiB
 *                      | code page (RX) + data page (RW)|
 *   0xffffe00000000000 +--------------------------------+
 *                      | kernel stacks, each with an    |  KSTACK_BASE: slot 0 the
 *                      | unmapped guard below           |  kernel's, slot 1 the runtime's
 *   0xffffd00000000000 +--------------------------------+
 *                      | task stacks of the runtime:    |  TASK_STACK_BASE: handed out
 *                      | 16 TiB, each with a guard,     |  upwards, never reused, in
 *                      | tops 64 KiB aligned            |  windows (runtime/stack.c)
 *   0xffffc00000000000 +--------------------------------+  = PHYS_OFFSET + PHYS_MAP_MAX
 *                      | direct map of all physical RAM |  PHYS_OFFSET: phys p is
 *                      | (RW, NX), up to 64 TiB         |  at PHYS_OFFSET + p
 *   0xffff800000000000 +--------------------------------+
 *                      | non-canonical hole             |
 *   0x00007fffffffffff +--------------------------------+
 *                      | UEFI runtime services regions, |  identity mapped: we never
 *                      | identity mapped (phys == virt) |  call SetVirtualAddressMap
 *                      | nothing else; page 0 unmapped  |
 *   0x0000000000000000 +--------------------------------+
 *
 * Task stacks sit where no everyday value is (0xffff_cxxx: as text, not
 * printable; as a double, a NaN; and runtime/stack.c's windows keep small
 * integers, pairs and quads out), so the runtime's conservative pointer
 * adjustment never mistakes such data for a stack pointer
 * (docs/stack-moves.md measures it).
 */
#ifndef MORESTACK_MEMLAYOUT_H
#define MORESTACK_MEMLAYOUT_H

#define PAGE_SIZE 4096UL
#define PAGE_SHIFT 12
#define LARGE_PAGE_SIZE (2UL << 20) /* a 2 MiB page: one page-directory entry */

/* Direct map: every byte of physical RAM, readable and writable, never executable. */
#define PHYS_OFFSET 0xffff800000000000UL
#define PHYS_MAP_MAX (64UL << 40)

/* Kernel stacks: KSTACK_SLOT bytes of virtual space each, the lowest page of
 * every slot never mapped, so running off the bottom faults at once. */
#define KSTACK_BASE 0xffffd00000000000UL
#define KSTACK_SLOT (1UL << 20)

/* Task stacks (runtime/stack.c): RT_STACK_REGION bytes from here. */
#define TASK_STACK_BASE 0xffffc00000000000UL

/* Closure trampolines (runtime/closure.c): code/data page pairs from here. */
#define CLOSURE_BASE 0xffffe00000000000UL
#define CLOSURE_REGION (1UL << 30)

/* The GOP framebuffer (kernel/fbcon.c), mapped write-only by convention. */
#define FB_VIRT 0xffffe80000000000UL
#define FB_REGION (1UL << 30)

/* PCI Express configuration space of segment 0 (kernel/pci.c): the MCFG's
 * ECAM window, 1 MiB a bus, mapped uncached and never executable. */
#define ECAM_VIRT 0xffffe90000000000UL
#define ECAM_REGION (256UL << 20)

/* xHCI controllers' registers (kernel/xhci.c): BAR 0 of controller i at
 * XHCI_VIRT + i * XHCI_SLOT, uncached and never executable. */
#define XHCI_VIRT 0xffffea0000000000UL
#define XHCI_SLOT (16UL << 20)

/* Kernel image, linked at this address (see kernel/kernel.ld). */
#define KERNEL_BASE 0xffffffff80000000UL

#ifndef __ASSEMBLER__
#include <stdint.h>
static inline void *phys_to_virt(uint64_t phys) { return (void *)(phys + PHYS_OFFSET); }
static inline uint64_t virt_to_phys_direct(const void *v) { return (uint64_t)v - PHYS_OFFSET; }
#endif

#endif
