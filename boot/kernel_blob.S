/*
 * kernel_blob.S: the kernel ELF file (symbols kept, debug info stripped),
 * embedded in BOOTX64.EFI so a USB stick needs that one file only.
 * KERNEL_ELF is the path of the file, passed by the Makefile.
 */
	.section .rodata
	.balign 4096
	.global kernel_elf_start, kernel_elf_end
	.hidden kernel_elf_start, kernel_elf_end
kernel_elf_start:
	.incbin KERNEL_ELF
kernel_elf_end:
	.section .note.GNU-stack, "", @progbits
