/*
 * panic.h: Go's panic and recover (see runtime/panic.c).
 */
#ifndef MORESTACK_PANIC_H
#define MORESTACK_PANIC_H
#include <stdbool.h>
#include <stdint.h>

struct rt_panic {
	const char *msg;
	struct rt_panic *link;  /* the panic this one interrupted, if any */
	uintptr_t call_sp;      /* %rsp at the call of the deferred call now running */
	bool recovered;
};

_Noreturn void rt_panic(const char *msg);
const char *rt_recover(void);
_Noreturn void rt_sigpanic(const char *msg);
#endif
