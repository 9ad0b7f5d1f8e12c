/*
 * closure.h: closures for C: code plus an environment, callable through an
 * ordinary C function pointer (see runtime/closure.c).
 *
 *     RT_CLOSURE_CODE(counter_next, uint64_t)
 *     uint64_t counter_next_body(void *env) { return ++((struct counter *)env)->n; }
 *     ...
 *     uint64_t (*next)(void) = rt_closure_new(counter_next, heap_env);
 *     next(); next();
 *
 * The trampoline puts the environment in %r10; the entry RT_CLOSURE_CODE
 * emits moves it into the first argument and shifts the caller's first
 * five integer arguments by one, so the body is plain C with the
 * environment first. Up to five integer or pointer arguments (the sixth
 * register is needed for the shift); floating-point arguments pass
 * unchanged.
 */
#ifndef MORESTACK_CLOSURE_H
#define MORESTACK_CLOSURE_H
#include <stddef.h>
#include <stdint.h>

#define RT_CLOSURE_CODE(name, ret, ...)                                                   \
	extern char name[];                                                               \
	__attribute__((used, noipa)) ret name##_body(void *env, ##__VA_ARGS__);          \
	__asm__(".text\n\t.p2align 4\n\t.globl " #name "\n\t.type " #name ", @function\n" \
		#name ":\n\t"                                                             \
		"endbr64\n\t"                                                             \
		"mov %r8, %r9\n\tmov %rcx, %r8\n\tmov %rdx, %rcx\n\t"                      \
		"mov %rsi, %rdx\n\tmov %rdi, %rsi\n\tmov %r10, %rdi\n\t"                  \
		"jmp " #name "_body\n\t"                                                  \
		".size " #name ", . - " #name "\n\t.previous")

struct rt_closure_stats {
	uint64_t live, created, freed;
	uint64_t pages;        /* code+data page pairs mapped */
	uint64_t adjusted;     /* environments moved with a stack */
	uint64_t indexed;      /* live closures whose environment is not a heap
				  object: the only ones a stack move looks at */
	uint64_t visited;      /* slots rt_closures_adjust looked at, all moves */
};

void *rt_closure_new(const void *code, void *env);
void rt_closure_free(void *fn);
void *rt_closure_env(const void *fn);
void *rt_closure_code(const void *fn);
int rt_closure_free_checked(void *fn);
void rt_closure_get_stats(struct rt_closure_stats *s);
#endif
