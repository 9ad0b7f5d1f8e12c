/*
 * heap.c: the runtime's heap allocator, a small tcmalloc (or Go mcache)
 * without threads.
 *
 * Small objects (1 to 2048 bytes) are rounded up to a size class. Each
 * class is served from spans: runs of whole pages from plat_heap_pages,
 * each holding objects of that one class behind a header:
 *
 *   base (page aligned)                      base + first
 *   +-------------+------------------+-----+-------+-------+-----+---------+------+
 *   | struct span | requested[nobjs] | pad | obj 0 | obj 1 | ... | obj n-1 | tail |
 *   +-------------+------------------+-----+-------+-------+-----+---------+------+
 *
 * The header's bitmap says which objects are handed out; that bitmap is
 * the truth. The free list, threaded through the free objects' first word,
 * is only the fast way to find one, and is checked against the bitmap
 * before it is followed, since a freed object may still be written to.
 * requested[] keeps the size each object was asked for, for heap_stats.
 *
 * Large objects (over 2048 bytes) get a run of pages of their own and
 * start at its first byte, so they are page aligned; their size lives in
 * the span table, not in a header.
 *
 * The span table is a sorted array of every run the heap holds (spans and
 * large objects), in pages of its own. It is the only way from a pointer
 * to its span: rt_free looks the pointer up there before reading any
 * header, so a wild pointer is rejected, never dereferenced. The lookup is
 * a binary search; adding or removing a run moves the entries after it.
 *
 * Invariants (rt_heap_check verifies all of them):
 *   - a span is on its class's partial list iff it has a free object;
 *   - its free list holds exactly the objects whose bitmap bit is clear;
 *   - a class keeps at most one span with every object free (cached), so
 *     a loop that allocates and frees one object does not take pages from
 *     the platform and give them back each time;
 *   - freed objects are filled with POISON after their link word.
 *
 * Single-threaded: the runtime is cooperative on one CPU, so nothing here
 * takes a lock. SMP will need a per-CPU cache of spans per class (Go's
 * mcache), a locked list of partial spans per class (mcentral), and a lock
 * around the span table and the calls to the platform.
 *
 * Never called from the page-fault path: a task may fault (on its stack
 * guard, say) in the middle of rt_alloc with a list half updated, so the
 * fault handler must not allocate or free.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "heap.h"
#include "internal.h"
#include "kstring.h"
#include "platform.h"

#define SPAN_MAGIC 0x4e415053u /* "SPAN", little endian */
#define SPAN_MAX_OBJS 256      /* bitmap bits in a span header */
#define SPAN_MAX_PAGES 8       /* no class needs more to waste under 1/8 */
/* A debug switch: fill freed objects with POISON so rt_heap_check can tell
 * that one was written after it was freed. 0 saves a memset per free. */
#define HEAP_POISON 1
#define POISON 0xdb

static const uint16_t class_sizes[RT_HEAP_NCLASS] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224,
	256, 320, 384, 448, 512, 640, 768, 1024, 1280, 1536, 2048,
};

/* The header at the start of every small-object span. */
struct span {
	uint32_t magic;
	uint16_t class;
	uint16_t nfree;           /* objects not handed out */
	struct span *self;        /* its own address: a stale or copied header does not match */
	struct span *next, *prev; /* on the class's partial list, while nfree > 0 */
	struct free_obj *free;    /* free list; the bitmap decides, this only finds */
	uint64_t used[SPAN_MAX_OBJS / 64]; /* bit i set: object i is handed out */
	uint16_t requested[];     /* bytes asked for, per object; 0 while free */
};

/* The first word of a free object. */
struct free_obj {
	struct free_obj *next;
};

/* One size class: its span layout (fixed by rt_heap_init) and its spans. */
struct size_class {
	uint32_t size;        /* bytes per object */
	uint32_t pages;       /* pages per span */
	uint32_t nobjs;       /* objects per span */
	uint32_t first;       /* offset of object 0 from the span's base */
	struct span *partial; /* spans with a free object; the head serves */
	size_t nspans;
	size_t nempty;        /* spans with every object free: 0 or 1 */
	size_t live;          /* objects handed out */
};

/* An entry of the span table: a run of pages the heap holds. */
struct run {
	uintptr_t base;
	uint32_t pages;
	uint32_t large;   /* 1: a large object starting at base; 0: a span */
	size_t requested; /* of the large object */
};

static struct {
	bool ready;
	struct size_class cls[RT_HEAP_NCLASS];
	struct run *runs; /* sorted by base */
	size_t nruns, cap_runs;
	size_t table_pages;
	struct rt_heap_stats st; /* the counters; rt_heap_get_stats adds the rest */
} heap;

static void default_error(const char *msg, const void *p);
void (*rt_heap_error_hook)(const char *msg, const void *p) = default_error;

/* Prints a heap error and stops: the default rt_heap_error_hook. rt_fatal
 * gets a short summary, as both platforms print what it is given too. */
static void default_error(const char *msg, const void *p)
{
	char line[320];
	int n = ksnprintf(line, sizeof line, "heap: %s\n", msg);
	(void)p; /* the message names it */
	plat_write(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
	rt_fatal("heap misused or corrupt (the heap: line above says how)");
}

/* Formats an error and hands it to rt_heap_error_hook. The caller has not
 * changed the heap and returns right after. */
static void report(const void *p, const char *fmt, ...)
{
	static char msg[256]; /* single-threaded; the hook may keep it until the next error */
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	heap.st.errors++;
	rt_heap_error_hook(msg, p);
}

/* ---- size classes ---- */

/* Lays out a span of class c: the fewest pages (and at most SPAN_MAX_OBJS
 * objects) that leave under 1/8 of the span unused after the header. */
static void class_layout(struct size_class *c, uint32_t size)
{
	c->size = size;
	for (uint32_t pages = 1; pages <= SPAN_MAX_PAGES; pages++) {
		uint32_t bytes = pages * PLAT_PAGE, n = SPAN_MAX_OBJS, first;
		for (;; n--) {
			first = (sizeof(struct span) + n * sizeof(uint16_t) + RT_HEAP_ALIGN - 1) &
				~(RT_HEAP_ALIGN - 1);
			if (first + n * size <= bytes)
				break;
		}
		c->pages = pages;
		c->nobjs = n;
		c->first = first;
		if (n > 0 && bytes - first - n * size <= bytes / 8)
			return;
	}
}

/* Sets up the size classes on an empty heap. Called once, before the
 * first rt_alloc (rt_init does). Calling it again forgets every object
 * and page: the tests do, to start over, once rt_heap_trim gave all back. */
void rt_heap_init(void)
{
	memset(&heap, 0, sizeof heap);
	for (int i = 0; i < RT_HEAP_NCLASS; i++)
		class_layout(&heap.cls[i], class_sizes[i]);
	heap.ready = true;
}

/* The class for a small object of `size` bytes. */
static int class_of(size_t size)
{
	int i = 0;
	while (class_sizes[i] < size)
		i++;
	return i;
}

/* ---- the span table ---- */

/* The run holding address a, or NULL if the heap holds no page there. */
static struct run *run_find(uintptr_t a)
{
	size_t lo = 0, hi = heap.nruns; /* find the first run above a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (heap.runs[mid].base <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct run *r = &heap.runs[lo - 1];
	if (a - r->base >= (uintptr_t)r->pages * PLAT_PAGE)
		return NULL;
	return r;
}

/* Makes room for one more run, doubling the table. Returns false when the
 * platform has no pages; call before taking the run's own pages. */
static bool table_reserve(void)
{
	if (heap.nruns < heap.cap_runs)
		return true;
	size_t pages = heap.table_pages ? 2 * heap.table_pages : 1;
	struct run *runs = plat_heap_pages(pages);
	if (!runs)
		return false;
	if (heap.runs) {
		memcpy(runs, heap.runs, heap.nruns * sizeof *runs);
		plat_heap_free_pages(heap.runs, heap.table_pages);
	}
	heap.st.pages_held += pages - heap.table_pages;
	heap.runs = runs;
	heap.table_pages = pages;
	heap.cap_runs = pages * PLAT_PAGE / sizeof *runs;
	return true;
}

/* Adds a run, keeping the table sorted. table_reserve must have succeeded. */
static void run_insert(uintptr_t base, uint32_t pages, uint32_t large, size_t requested)
{
	size_t i = heap.nruns;
	while (i > 0 && heap.runs[i - 1].base > base)
		i--;
	memmove(&heap.runs[i + 1], &heap.runs[i], (heap.nruns - i) * sizeof *heap.runs);
	heap.runs[i] = (struct run){ base, pages, large, requested };
	heap.nruns++;
	heap.st.pages_held += pages;
}

/* Removes a run from the table and gives its pages back to the platform. */
static void run_release(struct run *r)
{
	void *base = (void *)r->base;
	size_t pages = r->pages, i = (size_t)(r - heap.runs);
	memmove(r, r + 1, (heap.nruns - i - 1) * sizeof *r);
	heap.nruns--;
	heap.st.pages_held -= pages;
	plat_heap_free_pages(base, pages);
}

/* ---- spans ---- */

/* Whether object i of span s is handed out, by its bitmap bit. */
static bool used(const struct span *s, uint32_t i)
{
	return (s->used[i / 64] >> (i % 64)) & 1;
}

/* Marks object i of span s handed out (v) or free. */
static void set_used(struct span *s, uint32_t i, bool v)
{
	if (v)
		s->used[i / 64] |= 1ULL << (i % 64);
	else
		s->used[i / 64] &= ~(1ULL << (i % 64));
}

/* The address of object i of span s. */
static uintptr_t obj_addr(const struct span *s, const struct size_class *c, uint32_t i)
{
	return (uintptr_t)s + c->first + (uintptr_t)i * c->size;
}

/* Puts object i on the span's free list, poisoned; does not count it. */
static void push_free(struct span *s, const struct size_class *c, uint32_t i)
{
	struct free_obj *o = (struct free_obj *)obj_addr(s, c, i);
	o->next = s->free;
	if (HEAP_POISON)
		memset((char *)o + sizeof *o, POISON, c->size - sizeof *o);
	s->free = o;
}

/* Puts span s at the head of a class's partial list. */
static void list_push(struct span **head, struct span *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

/* Takes span s off the partial list it is on. */
static void list_remove(struct span **head, struct span *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

/* Takes a span for class ci from the platform, every object free, and puts
 * it on the partial list. Returns NULL when out of memory. */
static struct span *span_new(int ci)
{
	struct size_class *c = &heap.cls[ci];
	if (!table_reserve())
		return NULL;
	struct span *s = plat_heap_pages(c->pages);
	if (!s)
		return NULL;
	memset(s, 0, c->first);
	s->magic = SPAN_MAGIC;
	s->class = (uint16_t)ci;
	s->self = s;
	s->nfree = (uint16_t)c->nobjs;
	for (uint32_t i = c->nobjs; i-- > 0;) /* lowest address served first */
		push_free(s, c, i);
	run_insert((uintptr_t)s, c->pages, 0, 0);
	list_push(&c->partial, s);
	c->nspans++;
	c->nempty++;
	heap.st.spans++;
	return s;
}

/* Gives an empty span back to the platform. */
static void span_release(struct span *s)
{
	struct size_class *c = &heap.cls[s->class];
	list_remove(&c->partial, s);
	c->nspans--;
	c->nempty--;
	heap.st.spans--;
	s->magic = 0;
	run_release(run_find((uintptr_t)s));
}

/* Index of the object at address a in span s, or -1 if a is not where
 * one of its objects starts. */
static long obj_index(const struct span *s, const struct size_class *c, uintptr_t a)
{
	uintptr_t start = (uintptr_t)s + c->first;
	if (a < start || (a - start) % c->size != 0 || (a - start) / c->size >= c->nobjs)
		return -1;
	return (long)((a - start) / c->size);
}

/* Rebuilds a span's free list from its bitmap, after the list was found
 * pointing somewhere it must not (a freed object was written to). */
static void free_list_rebuild(struct span *s, const struct size_class *c)
{
	s->free = NULL;
	s->nfree = 0;
	for (uint32_t i = c->nobjs; i-- > 0;)
		if (!used(s, i)) {
			push_free(s, c, i);
			s->nfree++;
		}
}

/* ---- allocating and freeing ---- */

/* A zeroed object of class ci for a request of `size` bytes, or NULL. */
static void *small_alloc(int ci, size_t size)
{
	struct size_class *c = &heap.cls[ci];
	struct span *s;
	long i;
	for (;;) {
		s = c->partial;
		if (!s && !(s = span_new(ci)))
			return NULL;
		i = s->free ? obj_index(s, c, (uintptr_t)s->free) : -1;
		if (i >= 0 && !used(s, (uint32_t)i))
			break;
		report(s->free, "rt_alloc: the free list of the %u-byte span at %p points to %p, "
		       "not a free object: a freed object was written to; rebuilding the list",
		       c->size, (void *)s, (void *)s->free);
		free_list_rebuild(s, c);
		if (s->nfree == 0) /* its count was wrong as well: it is full */
			list_remove(&c->partial, s);
	}
	struct free_obj *o = s->free;
	s->free = o->next;
	if (s->nfree == c->nobjs)
		c->nempty--;
	if (--s->nfree == 0)
		list_remove(&c->partial, s);
	set_used(s, (uint32_t)i, true);
	s->requested[i] = (uint16_t)size;
	memset(o, 0, c->size);
	c->live++;
	heap.st.bytes_used += c->size;
	return o;
}

/* A large object of `size` bytes on pages of its own, or NULL. The
 * platform's pages come zero-filled. */
static void *large_alloc(size_t size)
{
	if (size > (size_t)UINT32_MAX * PLAT_PAGE)
		return NULL;
	uint32_t pages = (uint32_t)((size + PLAT_PAGE - 1) / PLAT_PAGE);
	if (!table_reserve())
		return NULL;
	void *p = plat_heap_pages(pages);
	if (!p)
		return NULL;
	run_insert((uintptr_t)p, pages, 1, size);
	heap.st.large_objects_live++;
	heap.st.bytes_used += (size_t)pages * PLAT_PAGE;
	return p;
}

static void *heap_alloc(size_t size)
{
	if (!heap.ready)
		rt_fatal("rt_alloc called before rt_heap_init");
	void *p = size <= RT_HEAP_SMALL_MAX ? small_alloc(class_of(size), size) : large_alloc(size);
	if (!p) {
		heap.st.failed_allocs++;
		return NULL;
	}
	heap.st.allocs++;
	heap.st.objects_live++;
	heap.st.bytes_live += size;
	return p;
}

static void heap_free(void *p)
{
	if (!p)
		return;
	struct run *r = run_find((uintptr_t)p);
	if (!r) {
		report(p, "rt_free(%p): not a heap object: rt_alloc never returned it, "
		       "or it was a large object and is already freed", p);
		return;
	}
	if (r->large) {
		if ((uintptr_t)p != r->base) {
			report(p, "rt_free(%p): points %zu bytes into the %zu-byte object at %p; "
			       "pass the pointer rt_alloc returned", p, (size_t)((uintptr_t)p - r->base),
			       r->requested, (void *)r->base);
			return;
		}
		heap.st.bytes_live -= r->requested;
		heap.st.bytes_used -= (size_t)r->pages * PLAT_PAGE;
		heap.st.large_objects_live--;
		run_release(r);
	} else {
		struct span *s = (struct span *)r->base;
		if (s->magic != SPAN_MAGIC || s->self != s || s->class >= RT_HEAP_NCLASS) {
			report(p, "rt_free(%p): the header of the span at %p is overwritten "
			       "(magic %x): the heap is corrupt", p, (void *)s, s->magic);
			return;
		}
		struct size_class *c = &heap.cls[s->class];
		long i = obj_index(s, c, (uintptr_t)p);
		if (i < 0) {
			report(p, "rt_free(%p): not the start of an object: the %u-byte span at %p "
			       "has its objects from %p; pass the pointer rt_alloc returned",
			       p, c->size, (void *)s, (void *)obj_addr(s, c, 0));
			return;
		}
		if (!used(s, (uint32_t)i)) {
			report(p, "rt_free(%p): double free: this %u-byte object is already free",
			       p, c->size);
			return;
		}
		heap.st.bytes_live -= s->requested[i];
		heap.st.bytes_used -= c->size;
		c->live--;
		set_used(s, (uint32_t)i, false);
		s->requested[i] = 0;
		push_free(s, c, (uint32_t)i);
		if (s->nfree++ == 0)
			list_push(&c->partial, s);
		if (s->nfree == c->nobjs) {
			c->nempty++;
			if (c->nempty > 1) /* keep one, give the rest back */
				span_release(s);
		}
	}
	heap.st.frees++;
	heap.st.objects_live--;
}

/* The live small-object span holding p (after a table lookup), or NULL. */
/*
 * The heap is runtime state: called from a task, its work runs on the
 * runtime stack (rt_systemstack; task.c's invariant 1), so a stack move
 * never finds it half-way, and the memory it takes from the platform never
 * races the fault path's. The heap's unit test links the heap alone:
 * without the scheduler (a weak reference), it runs where it is called.
 */
uint64_t rt_systemstack(uint64_t (*fn)(void *), void *arg) __attribute__((weak));

static uint64_t alloc_sys(void *arg) { return (uint64_t)heap_alloc(*(size_t *)arg); }

static uint64_t free_sys(void *p)
{
	heap_free(p);
	return 0;
}

/* Returns `size` zeroed bytes, 16-byte aligned, or NULL when the platform
 * has no pages left. Size 0 gets a unique pointer, as from size 1. */
void *rt_alloc(size_t size)
{
	return rt_systemstack ? (void *)rt_systemstack(alloc_sys, &size) : heap_alloc(size);
}

/* Takes back an object rt_alloc returned; NULL is ignored. A pointer the
 * heap did not hand out, or has taken back, goes to rt_heap_error_hook and
 * changes nothing. */
void rt_free(void *p)
{
	if (rt_systemstack)
		rt_systemstack(free_sys, p);
	else
		heap_free(p);
}

static struct span *span_of(const void *p, struct run **rp)
{
	struct run *r = run_find((uintptr_t)p);
	*rp = r;
	if (!r || r->large)
		return NULL;
	struct span *s = (struct span *)r->base;
	if (s->magic != SPAN_MAGIC || s->self != s || s->class >= RT_HEAP_NCLASS)
		return NULL;
	return s;
}

/* 1 if p is the start of a live heap object, else 0. Any pointer may be
 * asked about; none is dereferenced before the span table vouches for it. */
int rt_heap_owns(const void *p)
{
	struct run *r;
	struct span *s = span_of(p, &r);
	if (r && r->large)
		return (uintptr_t)p == r->base;
	if (!s)
		return 0;
	long i = obj_index(s, &heap.cls[s->class], (uintptr_t)p);
	return i >= 0 && used(s, (uint32_t)i);
}

/* The bytes usable at p (the class size, or whole pages for a large
 * object), at least what was asked for; 0 if p is not a live object. */
size_t rt_alloc_size(const void *p)
{
	if (!rt_heap_owns(p))
		return 0;
	struct run *r = run_find((uintptr_t)p);
	if (r->large)
		return (size_t)r->pages * PLAT_PAGE;
	return heap.cls[((const struct span *)r->base)->class].size;
}

/* Gives back every cached empty span, and the span table once no run is
 * left in it. Live objects are untouched; may be called at any time. */
void rt_heap_trim(void)
{
	for (int ci = 0; ci < RT_HEAP_NCLASS; ci++) {
		struct size_class *c = &heap.cls[ci];
		struct span *next;
		for (struct span *s = c->partial; s; s = next) {
			next = s->next;
			if (s->nfree == c->nobjs)
				span_release(s);
		}
	}
	if (heap.nruns == 0 && heap.runs) {
		plat_heap_free_pages(heap.runs, heap.table_pages);
		heap.st.pages_held -= heap.table_pages;
		heap.runs = NULL;
		heap.table_pages = heap.cap_runs = 0;
	}
}

/* Fills *st with the heap's counters. */
void rt_heap_get_stats(struct rt_heap_stats *st)
{
	*st = heap.st;
	st->pages_meta = heap.table_pages;
	st->pages_cached = 0;
	for (int i = 0; i < RT_HEAP_NCLASS; i++) {
		const struct size_class *c = &heap.cls[i];
		st->pages_cached += c->nempty * c->pages;
		st->class_size[i] = c->size;
		st->class_pages[i] = c->pages;
		st->class_per_span[i] = c->nobjs;
		st->class_objects[i] = c->live;
		st->class_spans[i] = c->nspans;
	}
}

/* ---- consistency ---- */

/* Writes a rt_heap_check failure into err; returns -1. */
static int fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* Totals rt_heap_check gathers from the spans, to compare with the counters. */
struct tally {
	size_t objects, bytes_live, bytes_used, large, pages;
	size_t spans[RT_HEAP_NCLASS], empty[RT_HEAP_NCLASS], partial[RT_HEAP_NCLASS], live[RT_HEAP_NCLASS];
};

/* Checks one small-object span's header, bitmap, free list and poison,
 * and adds it to the tally. Returns 0, or -1 with a message in err. */
static int check_span(const struct run *r, struct tally *t, char *err, size_t cap)
{
	const struct span *s = (const struct span *)r->base;
	if (s->magic != SPAN_MAGIC || s->self != s || s->class >= RT_HEAP_NCLASS)
		return fail(err, cap, "span %p: header overwritten (magic %x, self %p, class %u)",
			    (void *)s, s->magic, (void *)s->self, s->class);
	const struct size_class *c = &heap.cls[s->class];
	if (r->pages != c->pages)
		return fail(err, cap, "span %p (%u-byte class): %u pages in the table, %u expected",
			    (void *)s, c->size, r->pages, c->pages);
	uint32_t nused = 0;
	for (uint32_t i = 0; i < SPAN_MAX_OBJS; i++) {
		if (!used(s, i))
			continue;
		if (i >= c->nobjs)
			return fail(err, cap, "span %p: bitmap bit %u set, only %u objects",
				    (void *)s, i, c->nobjs);
		if (s->requested[i] > c->size)
			return fail(err, cap, "span %p: object %u asked for %u bytes, class holds %u",
				    (void *)s, i, s->requested[i], c->size);
		nused++;
		t->bytes_live += s->requested[i];
	}
	if (s->nfree != c->nobjs - nused)
		return fail(err, cap, "span %p: nfree %u, but %u of %u objects are in use",
			    (void *)s, s->nfree, nused, c->nobjs);
	uint64_t seen[SPAN_MAX_OBJS / 64] = { 0 };
	uint32_t listed = 0;
	for (const struct free_obj *o = s->free; o; o = o->next) {
		long i = obj_index(s, c, (uintptr_t)o);
		if (i < 0)
			return fail(err, cap, "span %p: free list entry %u is %p, not an object "
				    "of this span", (void *)s, listed, (void *)o);
		if (used(s, (uint32_t)i))
			return fail(err, cap, "span %p: object %p is on the free list and in use",
				    (void *)s, (void *)o);
		if ((seen[i / 64] >> (i % 64)) & 1)
			return fail(err, cap, "span %p: free list has a cycle through %p",
				    (void *)s, (void *)o);
		seen[i / 64] |= 1ULL << (i % 64);
		for (uint32_t b = sizeof *o; HEAP_POISON && b < c->size; b++)
			if (((const unsigned char *)o)[b] != POISON)
				return fail(err, cap, "span %p: object %p was written after it was "
					    "freed (byte %u is %x)", (void *)s, (void *)o, b,
					    ((const unsigned char *)o)[b]);
		listed++;
	}
	if (listed != s->nfree)
		return fail(err, cap, "span %p: %u objects on the free list, nfree is %u",
			    (void *)s, listed, s->nfree);
	t->objects += nused;
	t->bytes_used += (size_t)nused * c->size;
	t->spans[s->class]++;
	t->live[s->class] += nused;
	if (nused == 0)
		t->empty[s->class]++;
	if (s->nfree > 0)
		t->partial[s->class]++;
	return 0;
}

/* Checks a class's partial list: linked both ways, only its own spans
 * with a free object, every such span on it. Returns 0 or -1. */
static int check_partial(int ci, const struct tally *t, char *err, size_t cap)
{
	const struct size_class *c = &heap.cls[ci];
	size_t n = 0;
	const struct span *prev = NULL;
	for (const struct span *s = c->partial; s; prev = s, s = s->next) {
		struct run *r = run_find((uintptr_t)s);
		if (!r || r->large || r->base != (uintptr_t)s)
			return fail(err, cap, "%u-byte class: partial list holds %p, not a span",
				    c->size, (void *)s);
		if (s->class != ci || s->nfree == 0 || s->prev != prev)
			return fail(err, cap, "%u-byte class: span %p on the partial list has "
				    "class %u, nfree %u, prev %p", c->size, (void *)s, s->class,
				    s->nfree, (void *)s->prev);
		if (++n > t->partial[ci])
			return fail(err, cap, "%u-byte class: partial list longer than the %zu "
				    "spans with free objects (a cycle?)", c->size, t->partial[ci]);
	}
	if (n != t->partial[ci])
		return fail(err, cap, "%u-byte class: %zu spans on the partial list, %zu have "
			    "free objects", c->size, n, t->partial[ci]);
	if (t->spans[ci] != c->nspans || t->empty[ci] != c->nempty || c->nempty > 1 ||
	    t->live[ci] != c->live)
		return fail(err, cap, "%u-byte class: counts %zu spans, %zu empty, %zu live; "
			    "found %zu, %zu, %zu", c->size, c->nspans, c->nempty, c->live,
			    t->spans[ci], t->empty[ci], t->live[ci]);
	return 0;
}

/* Walks the span table, every span and free list, and compares what it
 * finds with the counters. Returns 0 if all is consistent, else -1 with
 * the first problem in err. Takes time in proportion to the heap. */
int rt_heap_check(char *err, size_t cap)
{
	static struct tally t; /* too big for a kernel stack; single-threaded */
	memset(&t, 0, sizeof t);
	if (cap)
		err[0] = '\0';
	if (!heap.ready)
		return 0;
	if (heap.nruns > heap.cap_runs)
		return fail(err, cap, "span table: %zu runs, room for %zu", heap.nruns, heap.cap_runs);
	for (size_t i = 0; i < heap.nruns; i++) {
		const struct run *r = &heap.runs[i];
		if (r->base % PLAT_PAGE != 0 || r->pages == 0)
			return fail(err, cap, "span table entry %zu: base %p, %u pages", i,
				    (void *)r->base, r->pages);
		if (i > 0 && r->base < heap.runs[i - 1].base + heap.runs[i - 1].pages * PLAT_PAGE)
			return fail(err, cap, "span table entry %zu at %p overlaps or precedes the "
				    "one before it", i, (void *)r->base);
		t.pages += r->pages;
		if (r->large) {
			if (r->requested <= RT_HEAP_SMALL_MAX ||
			    (r->requested + PLAT_PAGE - 1) / PLAT_PAGE != r->pages)
				return fail(err, cap, "large object %p: %zu bytes on %u pages",
					    (void *)r->base, r->requested, r->pages);
			t.objects++;
			t.large++;
			t.bytes_live += r->requested;
			t.bytes_used += (size_t)r->pages * PLAT_PAGE;
		} else if (check_span(r, &t, err, cap) < 0) {
			return -1;
		}
	}
	for (int ci = 0; ci < RT_HEAP_NCLASS; ci++)
		if (check_partial(ci, &t, err, cap) < 0)
			return -1;
	const struct rt_heap_stats *st = &heap.st;
	if (t.objects != st->objects_live || t.large != st->large_objects_live ||
	    t.bytes_live != st->bytes_live || t.bytes_used != st->bytes_used)
		return fail(err, cap, "counters say %zu objects (%zu large), %zu bytes live, %zu "
			    "used; the spans hold %zu (%zu), %zu, %zu", st->objects_live,
			    st->large_objects_live, st->bytes_live, st->bytes_used, t.objects,
			    t.large, t.bytes_live, t.bytes_used);
	if (t.pages + heap.table_pages != st->pages_held)
		return fail(err, cap, "pages_held is %zu, the table holds %zu plus %zu of its own",
			    st->pages_held, t.pages, heap.table_pages);
	if (st->allocs - st->frees != st->objects_live)
		return fail(err, cap, "%zu allocs minus %zu frees is not %zu live objects",
			    (size_t)st->allocs, (size_t)st->frees, st->objects_live);
	return 0;
}
