/*
 * stackscan.S: the two loops of a stack move that touch every used word
 * (stackmove.c's copy and adjust steps), written out so that the common
 * word, one that is not a pointer into the old stack, costs as little as
 * it can with general registers: most words of a stack are small numbers,
 * zeros, heap or code addresses, and fail the first or second compare.
 *
 * The test, for each word v (the old stack's range [lo, hi], hi included,
 * as stackmove.c's adjust_word):
 *
 *     v < lo   -> unchanged        one compare against memory or a register
 *     v > hi   -> unchanged        a second compare
 *     else     -> v + delta, counted
 *
 * A C compiler folds the two compares into one range check (v - lo <= hi - lo),
 * which costs a copy, a subtraction and a compare for every word, pointer
 * or not; here a word below the stack region costs one compare and one
 * branch.
 *
 * Both are leaf functions: no stack is used, no frame is built (the
 * caller's frame chain is untouched), nothing but their arguments is
 * read or written. They run in the page-fault handler. [fault-safe]
 *
 *   rt_scan_copy:    [src, end) read, [src + delta, end + delta) written
 *
 *       old   src |w0|w1|w2|...| end
 *                   |  |  |
 *       new   src+delta |w0'|w1'|w2'|...| end+delta    (w' = w + delta if a
 *                                                        pointer into [lo, hi])
 *
 *   rt_scan_adjust:  [p, end) read, and written only where a word changes
 *
 * The stack pointer is not touched; %rsp on entry is the return address,
 * as it is at the exit.
 */
	.text
	.global rt_scan_copy, rt_scan_adjust

/*
 * uint64_t rt_scan_copy(const uint64_t *src, const uint64_t *end, int64_t delta,
 *                       uint64_t lo, uint64_t hi)
 *   %rdi src, %rsi end (src <= end, both 8-aligned), %rdx delta (a multiple
 *   of 8), %rcx lo, %r8 hi. Returns in %rax how many words were adjusted.
 *   Scratch: %r9, %r10.
 */
.macro copy_word off
	movq \off(%rdi), %r9
	cmpq %rcx, %r9
	jb 1f
	cmpq %r8, %r9
	ja 1f
	addq %rdx, %r9
	incq %rax
1:	movq %r9, \off(%rdi,%rdx)
.endm

	.type rt_scan_copy, @function
rt_scan_copy:
	xorl %eax, %eax
	/* Words one by one until the rest is a multiple of eight. */
	movq %rsi, %r10
	subq %rdi, %r10
	andq $63, %r10
	jz 3f
2:	copy_word 0
	addq $8, %rdi
	subq $8, %r10
	jnz 2b
3:	cmpq %rsi, %rdi
	jae 5f
4:	copy_word 0
	copy_word 8
	copy_word 16
	copy_word 24
	copy_word 32
	copy_word 40
	copy_word 48
	copy_word 56
	addq $64, %rdi
	cmpq %rsi, %rdi
	jb 4b
5:	ret
	.size rt_scan_copy, . - rt_scan_copy

/*
 * uint64_t rt_scan_adjust(uint64_t *p, const uint64_t *end, int64_t delta,
 *                         uint64_t lo, uint64_t hi)
 *   The same test, in place: words compared in memory, written only when
 *   they change. Returns in %rax how many words were adjusted. Scratch: %r10.
 */
.macro adjust_word off
	cmpq %rcx, \off(%rdi)
	jb 1f
	cmpq %r8, \off(%rdi)
	ja 1f
	addq %rdx, \off(%rdi)
	incq %rax
1:
.endm

	.type rt_scan_adjust, @function
rt_scan_adjust:
	xorl %eax, %eax
	movq %rsi, %r10
	subq %rdi, %r10
	andq $63, %r10
	jz 3f
2:	adjust_word 0
	addq $8, %rdi
	subq $8, %r10
	jnz 2b
3:	cmpq %rsi, %rdi
	jae 5f
4:	adjust_word 0
	adjust_word 8
	adjust_word 16
	adjust_word 24
	adjust_word 32
	adjust_word 40
	adjust_word 48
	adjust_word 56
	addq $64, %rdi
	cmpq %rsi, %rdi
	jb 4b
5:	ret
	.size rt_scan_adjust, . - rt_scan_adjust

	.section .note.GNU-stack, "", @progbits
