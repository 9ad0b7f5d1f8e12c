/*
 * closure_stubs.S: the page of closure trampolines, 64 stubs of 64 bytes.
 *
 * This page is code only and is never written. The runtime maps it again,
 * read-only and executable, at as many fresh addresses as it needs, each
 * copy followed by a data page of its own (readable and writable, never
 * executable). Stub i reads slot i of the data page, at the same offset
 * one page higher:
 *
 *     stub i (code page, RX)            slot i (data page, RW, NX)
 *     +0   endbr64                      +0   env   -> %r10
 *     +4   movq  slot+0(%rip), %r10     +8   code  (jumped to)
 *     +11  jmp   *slot+8(%rip)          +16  runtime bookkeeping
 *
 * %r10 carries the environment, as in GCC's nested functions (the System V
 * ABI's static chain register): the C calling convention passes nothing in
 * it, so the caller's arguments arrive at the code untouched. No page is
 * ever writable and executable (the `wx` audit checks it), as libffi's
 * static trampolines do it.
 */
#define STUBS 64

	.section .text.closure_stubs, "ax"
	.balign 4096
	.global rt_closure_stub_page
rt_closure_stub_page:
	.rept STUBS
0:
	endbr64
	/* LAB closure BEGIN: env from this stub's slot (one page up) into %r10, then jump to its code */
	movq 0b+4096(%rip), %r10
	jmp *0b+4096+8(%rip)
	/* LAB closure ELSE
	ud2
	LAB closure END */
	.balign 64, 0xcc           /* int3 between stubs */
	.endr
	.global rt_closure_stub_page_end
rt_closure_stub_page_end:
	.section .note.GNU-stack, "", @progbits
