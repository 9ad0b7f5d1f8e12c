/*
 * closure.c: the trampoline pool behind rt_closure_new.
 *
 * A closure is a stub in a code page (closure_stubs.S) plus the slot of
 * the data page right after it: {env, code}. The pool is a list of such
 * page pairs, mapped on demand by the platform (plat_map_code_pair); free
 * slots are chained and reused, pages are kept. The function pointer a
 * caller gets is the stub's address.
 *
 * An environment may point into a task's stack (a closure that does not
 * outlive its frame, like Go's non-escaping ones); stack moves adjust it
 * (rt_closures_adjust, called from stack.c on the fault path: no
 * allocation, no locks). Environments that outlive the frame belong in the
 * heap: that is Go's "moved to heap".
 */
#include "closure.h"
#include "platform.h"

#define STUB_SIZE 64
#define STUBS_PER_PAGE (PLAT_PAGE / STUB_SIZE)
#define MAX_PAGES 4096 /* 262,144 closures */

struct slot {
	void *env;          /* read by the stub into %r10 */
	const void *code;   /* the stub jumps here */
	struct slot *next_free;
	uint64_t in_use;
	uint64_t pad[4];    /* one slot per stub: 64 bytes */
};

extern char rt_closure_stub_page[];

static uintptr_t pages[MAX_PAGES]; /* code page addresses; the data page follows each */
static unsigned npages;
static struct slot *free_slots;
static struct rt_closure_stats stats;

static struct slot *slot_of(const void *fn)
{
	return (struct slot *)((uintptr_t)fn + PLAT_PAGE);
}

/* Maps one more code+data page pair and chains its slots. Returns 0 or -1. */
static int grow_pool(void)
{
	if (npages == MAX_PAGES)
		return -1;
	uintptr_t code = plat_map_code_pair(rt_closure_stub_page);
	if (!code)
		return -1;
	pages[npages++] = code;
	stats.pages++;
	struct slot *data = (struct slot *)(code + PLAT_PAGE);
	for (int i = STUBS_PER_PAGE - 1; i >= 0; i--) {
		data[i].next_free = free_slots;
		free_slots = &data[i];
	}
	return 0;
}

/*
 * Returns a function pointer that runs code with env in %r10 (code is
 * usually an RT_CLOSURE_CODE entry), or NULL when the pool cannot grow.
 */
void *rt_closure_new(const void *code, void *env)
{
	if (!free_slots && grow_pool() != 0)
		return NULL;
	struct slot *s = free_slots;
	free_slots = s->next_free;
	s->env = env;
	s->code = code;
	s->in_use = 1;
	stats.live++;
	stats.created++;
	return (void *)((uintptr_t)s - PLAT_PAGE);
}

/* True if fn is a live closure from this pool. */
int rt_closure_is(const void *fn)
{
	uintptr_t a = (uintptr_t)fn;
	if (a % STUB_SIZE)
		return 0;
	for (unsigned i = 0; i < npages; i++)
		if (a >= pages[i] && a < pages[i] + PLAT_PAGE)
			return slot_of(fn)->in_use == 1;
	return 0;
}

/* Gives a closure's trampoline back to the pool. Returns 0, or -1 if fn is not a live closure. */
int rt_closure_free_checked(void *fn)
{
	if (!rt_closure_is(fn))
		return -1;
	struct slot *s = slot_of(fn);
	s->in_use = 0;
	s->env = NULL;
	s->code = NULL;
	s->next_free = free_slots;
	free_slots = s;
	stats.live--;
	stats.freed++;
	return 0;
}

void rt_closure_free(void *fn)
{
	rt_closure_free_checked(fn);
}

void *rt_closure_env(const void *fn)
{
	return rt_closure_is(fn) ? slot_of(fn)->env : NULL;
}

void *rt_closure_code(const void *fn)
{
	return rt_closure_is(fn) ? (void *)slot_of(fn)->code : NULL;
}

void rt_closure_get_stats(struct rt_closure_stats *s)
{
	*s = stats;
}

/*
 * A stack moved from [lo, hi) by delta: environments pointing into it
 * follow (the conservative rule of stack.c: [lo, hi] inclusive). Returns
 * how many. [fault-safe]
 */
uint64_t rt_closures_adjust(uintptr_t lo, uintptr_t hi, intptr_t delta)
{
	uint64_t n = 0;
	for (unsigned p = 0; p < npages; p++) {
		struct slot *data = (struct slot *)(pages[p] + PLAT_PAGE);
		for (unsigned i = 0; i < STUBS_PER_PAGE; i++) {
			uintptr_t env = (uintptr_t)data[i].env;
			if (data[i].in_use && env >= lo && env <= hi) {
				data[i].env = (void *)(env + delta);
				n++;
			}
		}
	}
	stats.adjusted += n;
	return n;
}
