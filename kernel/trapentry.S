/*
 * trapentry.S: the 256 interrupt entry stubs and the common path.
 *
 * The CPU pushes, on the handler's stack (the IST stack if the gate names
 * one), 16-byte aligned first (SDM vol. 3A, 6.14.2):
 *      ss, rsp, rflags, cs, rip, [error code]
 * Each stub pushes a zero error code when the CPU pushes none, then its
 * vector number, and jumps to trap_common, which saves the general
 * registers so that %rsp points at a struct trapframe (kernel/trap.h):
 *      r15 ... rax, vector, error, rip, cs, rflags, rsp, ss
 * trap(tf) may change the frame; we restore it and iretq.
 */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

	.text
	.global trap_stubs
	.balign 16
trap_stubs:
	vector = 0
	.rept 256
	.balign 16
	.if HAS_ERROR(vector) == 0
	pushq $0
	.endif
	pushq $vector
	jmp trap_common
	vector = vector + 1
	.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call trap
	.global trap_return
trap_return:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp             /* vector and error code */
	iretq
	.section .note.GNU-stack, "", @progbits
