/*
 * segstack.S: seg_call(fn, arg, stack_top), for the hotsplit demo's model
 * of segmented stacks: runs fn(arg) on the stack that ends at stack_top
 * (16-byte aligned) and returns its value on the caller's stack. %rbp
 * keeps the caller's frame across the call (fn preserves it), which also
 * links fn's frame into the frame-pointer chain for backtraces.
 */
	.text
	.global seg_call
	.type seg_call, @function
seg_call:
	pushq %rbp
	movq %rsp, %rbp
	movq %rdi, %rax
	movq %rsi, %rdi
	movq %rdx, %rsp
	call *%rax
	movq %rbp, %rsp
	popq %rbp
	ret
	.size seg_call, . - seg_call
	.section .note.GNU-stack, "", @progbits
