/* ffi_closures.c: closure-call baselines for `make bench`: a libffi closure
 * and a GCC nested function, each counting in a captured variable, called
 * through an ordinary function pointer as morestack's closures are.
 *
 * A GCC nested function whose address is taken gets a trampoline written
 * on the stack at run time, so this program needs an executable stack
 * (linked with -z execstack): the writable-and-executable memory that
 * morestack's trampoline pool exists to avoid. libffi's closures come from
 * its own trampoline allocator (static trampolines where available). */
#include <ffi.h>
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"

static void ffi_handler(ffi_cif *cif, void *ret, void **args, void *user)
{
	(void)cif, (void)args;
	*(ffi_arg *)ret = ++*(uint64_t *)user;
}

static uint64_t (*volatile ffi_fn)(void);

static uint64_t run_ffi(void *arg, uint64_t n)
{
	uint64_t *x = arg, v = 0;
	*x = 0;
	uint64_t (*f)(void) = ffi_fn;
	for (uint64_t i = 0; i < n; i++)
		v = f();
	if (v != n)
		bench_fail("closure libffi", "wrong count");
	return v;
}

static uint64_t run_nested(void *arg, uint64_t n)
{
	(void)arg;
	uint64_t x = 0;
	uint64_t inc(void) { return ++x; }
	uint64_t (*volatile fp)(void) = inc;
	uint64_t (*f)(void) = fp, v = 0;
	for (uint64_t i = 0; i < n; i++)
		v = f();
	if (v != n)
		bench_fail("closure gcc-nested", "wrong count");
	return v;
}

int main(void)
{
	uint64_t x = 0, sum;
	void *code;
	ffi_cif cif;
	ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
	if (!cl || ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &ffi_type_uint64, NULL) != FFI_OK ||
	    ffi_prep_closure_loc(cl, &cif, ffi_handler, &x, code) != FFI_OK)
		bench_fail("closure libffi", "cannot make a closure");
	ffi_fn = (uint64_t (*)(void))code;
	bench_line("closure", "libffi", best_ns_per_op(run_ffi, &x, &sum), "ns/call");
	fprintf(stderr, "closure libffi: checksum %lu\n", sum);
	bench_line("closure", "gcc-nested", best_ns_per_op(run_nested, NULL, &sum), "ns/call");
	fprintf(stderr, "closure gcc-nested: checksum %lu\n", sum);
	ffi_closure_free(cl);
	return 0;
}
