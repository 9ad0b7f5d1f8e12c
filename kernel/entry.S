/*
 * entry.S: the kernel's first instructions.
 *
 * On entry (from boot/loader.c): long mode, interrupts off, the loader's
 * bootstrap page tables in CR3, %rdi = physical address of struct
 * boot_info, %rsp somewhere in firmware memory we are about to reclaim.
 * We move to boot_stack (in .bss, so at KERNEL_BASE) and call
 * kmain(boot_info_phys), which never returns.
 */
	.section .text.entry, "ax"
	.global _start
_start:
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp            /* a zero frame pointer ends every backtrace */
	call kmain                 /* %rsp is 16-aligned before the call, as the ABI wants */
1:	cli
	hlt
	jmp 1b

/*
 * stack_switch(new_rsp, fn, arg): runs fn(arg) on the stack ending at new_rsp
 * (16-aligned). The old stack is abandoned: fn must not return. A zero
 * return address and frame pointer end backtraces there.
 */
	.text
	.global stack_switch
stack_switch:
	movq %rdi, %rsp
	xorl %ebp, %ebp
	movq %rdx, %rdi
	pushq $0
	jmp *%rsi

	.section .bss
	.balign 16
boot_stack:
	.skip 16384
boot_stack_top:
	.section .note.GNU-stack, "", @progbits
