/*
 * panic.h: Go's panic and recover (see runtime/panic.c): rt_panic runs
 * the task's deferred calls, innermost first; one of them that calls
 * rt_recover stops the panic (the function that deferred it returns, see
 * RT_RECOVER_RETURNS in defer.h); none does: the task dies, and says why.
 */
#ifndef MORESTACK_PANIC_H
#define MORESTACK_PANIC_H
#include <stdbool.h>
#include <stdint.h>

_Noreturn void rt_panic(const char *msg);
const char *rt_recover(void);
#endif
