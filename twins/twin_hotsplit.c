/*
 * twin_hotsplit.c: the hot-split loop of docs/go-semantics.md section 5, shared by
 * the kernel's hotsplit demo and `make bench`: recurse until the first
 * stack has almost no room left, then call a function whose frame does
 * not fit, again and again.
 */
#include "twins.h"

#include "rt.h"

/* A call whose 256-byte frame does not fit at the boundary. Returns x + 1. */
__attribute__((noinline)) uint64_t twin_hot_leaf(uint64_t x)
{
	volatile char pad[256];
	pad[0] = (char)x;
	return x + (uint64_t)pad[0] - (uint64_t)(char)x + 1;
}

/*
 * In a task: recurses until fewer than 160 bytes of the stack are left,
 * then calls twin_hot_leaf(i) for i < iters. Returns the sum, iters *
 * (iters + 1) / 2. On this runtime the first call grows the stack once.
 */
__attribute__((noinline)) uint64_t twin_at_boundary(uint64_t iters)
{
	volatile char pad[32];
	pad[0] = 0;
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	if (fp - rt_current()->stack_lo > 160 + 64)
		return twin_at_boundary(iters) + (uint64_t)pad[0];
	uint64_t sum = 0;
	for (uint64_t i = 0; i < iters; i++)
		sum += twin_hot_leaf(i);
	return sum;
}
