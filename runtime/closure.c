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
 *
 * Invariant: every live closure whose environment is not the start of a
 * heap object (rt_heap_owns, when it is made) is in the index, a treap
 * ordered by (env, slot address) and linked through the slots; the
 * others, the common case, are in no structure at all. A heap object is
 * never in a stack (heap pages and stack pages are distinct mappings) and
 * an environment changes only by a move, so a move finds every
 * environment it must adjust in the index, by address: it visits those
 * plus the two paths to the ends of its range (about 2 ln n slots each for
 * n indexed), never the pool. Making or freeing an indexed closure costs
 * as much again; the slots' own memory is the index, so a move allocates
 * nothing.
 */
#include "closure.h"
#include "internal.h"
#include "heap.h"
#include "platform.h"

#define STUB_SIZE 64
#define STUBS_PER_PAGE (PLAT_PAGE / STUB_SIZE)
#define MAX_PAGES 4096 /* 262,144 closures */

struct slot {
	void *env;          /* read by the stub into %r10 */
	const void *code;   /* the stub jumps here */
	struct slot *left, *right, *up; /* in the index, while indexed */
	struct slot *next;  /* the free list; in rt_closures_adjust, the environments moving */
	uint32_t in_use;
	uint32_t indexed;   /* the environment is not a heap object: in the index */
	uint64_t prio;      /* the treap's heap order: a hash of the slot's address */
};
_Static_assert(sizeof(struct slot) == STUB_SIZE, "one slot per stub: 64 bytes");

extern char rt_closure_stub_page[];

static uintptr_t pages[MAX_PAGES]; /* code page addresses; the data page follows each */
static unsigned npages;
static struct slot *free_slots;
static struct slot *index_root;
static struct rt_closure_stats stats;

static struct slot *slot_of(const void *fn)
{
	return (struct slot *)((uintptr_t)fn + PLAT_PAGE);
}

/* A 64-bit mixer (MurmurHash3's finalizer): distinct slots, distinct
 * priorities, unrelated to the order of the slots or of their keys. */
static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdUL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53UL;
	k ^= k >> 33;
	return k;
}

/* ---- the index: a treap by (env, slot address), linked through the slots ---- */

/* True if a comes before b in the index's order. */
static int before(const struct slot *a, const struct slot *b)
{
	uintptr_t ea = (uintptr_t)a->env, eb = (uintptr_t)b->env;
	return ea < eb || (ea == eb && a < b);
}

/* Puts s where old was under parent (the root if parent is NULL). */
static void replace_child(struct slot *parent, struct slot *old, struct slot *s)
{
	if (!parent)
		index_root = s;
	else if (parent->left == old)
		parent->left = s;
	else
		parent->right = s;
}

/* Lifts s above its parent, keeping the order. [fault-safe] */
static void rotate_up(struct slot *s)
{
	struct slot *p = s->up;
	replace_child(p->up, p, s);
	s->up = p->up;
	if (p->left == s) {
		p->left = s->right;
		if (s->right)
			s->right->up = p;
		s->right = p;
	} else {
		p->right = s->left;
		if (s->left)
			s->left->up = p;
		s->left = p;
	}
	p->up = s;
}

/* Adds s at its place by env, then lifts it to its place by prio. [fault-safe] */
static void index_insert(struct slot *s)
{
	struct slot *p = NULL, **link = &index_root;
	while (*link) {
		p = *link;
		link = before(s, p) ? &p->left : &p->right;
	}
	s->left = s->right = NULL;
	s->up = p;
	*link = s;
	while (s->up && s->up->prio < s->prio)
		rotate_up(s);
}

/* Takes s out: rotates it down until it has one child at most, then splices it. [fault-safe] */
static void index_remove(struct slot *s)
{
	while (s->left && s->right)
		rotate_up(s->left->prio > s->right->prio ? s->left : s->right);
	struct slot *child = s->left ? s->left : s->right;
	if (child)
		child->up = s->up;
	replace_child(s->up, s, child);
	s->left = s->right = s->up = NULL;
}

/* The slot after s in the index's order, or NULL; adds the slots it
 * stepped through to *steps. [fault-safe] */
static struct slot *index_next(struct slot *s, uint64_t *steps)
{
	if (s->right) {
		for (s = s->right, ++*steps; s->left; s = s->left)
			++*steps;
		return s;
	}
	while (s->up && s->up->right == s) {
		s = s->up;
		++*steps;
	}
	return s->up;
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
		data[i].prio = mix((uintptr_t)&data[i]);
		data[i].next = free_slots;
		free_slots = &data[i];
	}
	return 0;
}

struct new_req {
	const void *code;
	void *env;
};

/* On the runtime stack: the pool, the index the stack mover walks, and
 * the platform's page mapping must never be caught half-way by a move
 * (task.c's invariant 1). */
static uint64_t closure_new_sys(void *arg)
{
	const void *code = ((struct new_req *)arg)->code;
	void *env = ((struct new_req *)arg)->env;
	if (!free_slots && grow_pool() != 0)
		return 0;
	struct slot *s = free_slots;
	free_slots = s->next;
	s->env = env;
	s->code = code;
	s->in_use = 1;
	s->indexed = !rt_heap_owns(env);
	if (s->indexed) {
		index_insert(s);
		stats.indexed++;
	}
	stats.live++;
	stats.created++;
	return (uintptr_t)s - PLAT_PAGE;
}

/*
 * Returns a function pointer that runs code with env in %r10 (code is
 * usually an RT_CLOSURE_CODE entry), or NULL when the pool cannot grow.
 */
void *rt_closure_new(const void *code, void *env)
{
	struct new_req req = { code, env };
	return (void *)rt_systemstack(closure_new_sys, &req);
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

static uint64_t closure_free_sys(void *fn)
{
	if (!rt_closure_is(fn))
		return 1;
	struct slot *s = slot_of(fn);
	if (s->indexed) {
		index_remove(s);
		stats.indexed--;
	}
	s->in_use = 0;
	s->indexed = 0;
	s->env = NULL;
	s->code = NULL;
	s->next = free_slots;
	free_slots = s;
	stats.live--;
	stats.freed++;
	return 0;
}

/* Gives a closure's trampoline back to the pool (on the runtime stack, as
 * rt_closure_new). Returns 0, or -1 if fn is not a live closure. */
int rt_closure_free_checked(void *fn)
{
	return rt_systemstack(closure_free_sys, fn) ? -1 : 0;
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
 * how many. Only the index can hold them (see the invariant at the top):
 * one descent to the first environment at or above lo, then the slots in
 * order up to the first one above hi. Those are taken out, adjusted and
 * put back at their new place, since the new stack need not sort where
 * the old one did. [fault-safe]
 */
uint64_t rt_closures_adjust(uintptr_t lo, uintptr_t hi, intptr_t delta)
{
	struct slot *first = NULL, *moving = NULL;
	uint64_t n = 0, visited = 0;
	for (struct slot *s = index_root; s; visited++) {
		if ((uintptr_t)s->env >= lo) {
			first = s;
			s = s->left;
		} else {
			s = s->right;
		}
	}
	for (struct slot *s = first; s; s = index_next(s, &visited)) {
		visited++;
		if ((uintptr_t)s->env > hi)
			break;
		s->next = moving;
		moving = s;
	}
	while (moving) {
		struct slot *s = moving;
		moving = s->next;
		index_remove(s);
		s->env = (void *)((uintptr_t)s->env + delta);
		index_insert(s);
		n++;
	}
	stats.adjusted += n;
	stats.visited += visited;
	return n;
}
