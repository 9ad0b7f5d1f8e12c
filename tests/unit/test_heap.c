/*
 * test_heap.c: the runtime heap (runtime/heap.c).
 *
 * The test is the platform: plat_heap_pages hands out pages with mmap and
 * remembers every run, so plat_heap_free_pages can insist on getting back
 * exactly a run it handed out, and each test can end by checking that the
 * heap gave every page back. It can refuse pages after a budget (out of
 * memory), or carve them first-fit from one reserved region (an "arena"),
 * so spans sit next to each other and freed pages come back at once.
 *
 * rt_heap_error_hook is replaced by one that records the error, so a test can
 * check that a bad free was caught and that nothing changed. rt_fatal,
 * which the default hook calls, longjmps back into the test that armed it.
 */
#include "unit.h"

#include <sys/mman.h>
#include <unistd.h>

#include "heap.h"
#include "internal.h" /* rt_heap_init, rt_heap_owns, rt_heap_trim */
#include "platform.h"

#define PAGE 4096UL

/* ---- the platform: pages, console, rt_fatal ---- */

struct mapping {
	uintptr_t base;
	size_t pages;
};

static struct mapping *maps; /* runs handed out and not yet freed */
static size_t nmaps, cap_maps;
static size_t pages_out;      /* sum of their pages */
static size_t page_calls;     /* plat_heap_pages calls that succeeded */
static long budget = -1;      /* pages left before plat_heap_pages fails; -1: no limit */
#define PROVIDER_MAX_PAGES 65536 /* 256 MiB: refuse more, as a machine would */

#define ARENA_PAGES 4096
static char *arena;             /* non-NULL: pages come from here, first fit */
static unsigned char arena_used[ARENA_PAGES];

/* First fit in the arena: the lowest free run of `pages` pages, zeroed, or NULL. */
static void *arena_take(size_t pages)
{
	for (size_t i = 0; i + pages <= ARENA_PAGES; i++) {
		size_t n = 0;
		while (n < pages && !arena_used[i + n])
			n++;
		if (n == pages) {
			memset(arena_used + i, 1, pages);
			memset(arena + i * PAGE, 0, pages * PAGE); /* zero-filled, as promised */
			return arena + i * PAGE;
		}
		i += n;
	}
	return NULL;
}

/* platform.h: `pages` zeroed pages, or NULL when the budget or the arena
 * is spent. Every run handed out is remembered in maps[]. */
void *plat_heap_pages(size_t pages)
{
	if (pages == 0 || pages > PROVIDER_MAX_PAGES)
		return NULL;
	if (budget >= 0 && pages > (size_t)budget)
		return NULL;
	void *p;
	if (arena) {
		p = arena_take(pages);
		if (!p)
			return NULL;
	} else {
		p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p == MAP_FAILED)
			return NULL;
	}
	if (nmaps == cap_maps) {
		cap_maps = cap_maps ? 2 * cap_maps : 256;
		maps = realloc(maps, cap_maps * sizeof *maps);
		assert_non_null(maps);
	}
	maps[nmaps++] = (struct mapping){ (uintptr_t)p, pages };
	pages_out += pages;
	page_calls++;
	if (budget >= 0)
		budget -= (long)pages;
	return p;
}

/* Unmaps a run (or marks it free in the arena) and stops counting it. */
static void give_back(uintptr_t base, size_t pages)
{
	if (arena)
		memset(arena_used + (base - (uintptr_t)arena) / PAGE, 0, pages);
	else
		munmap((void *)base, pages * PAGE);
	pages_out -= pages;
}

/* platform.h: takes back a run; it must be one handed out, whole. */
void plat_heap_free_pages(void *p, size_t pages)
{
	for (size_t i = 0; i < nmaps; i++) {
		if (maps[i].base != (uintptr_t)p)
			continue;
		if (maps[i].pages != pages)
			fail_msg("plat_heap_free_pages(%p, %zu): that run has %zu pages", p, pages,
				 maps[i].pages);
		maps[i] = maps[--nmaps];
		give_back((uintptr_t)p, pages);
		return;
	}
	fail_msg("plat_heap_free_pages(%p, %zu): not a run the platform handed out", p, pages);
}

static char console[1024]; /* what plat_write printed while capturing */
static size_t console_len;
static int capture;

/* platform.h: the console is stderr, or console[] while a test captures it. */
void plat_write(const char *s, size_t n)
{
	if (!capture) {
		fwrite(s, 1, n, stderr);
		return;
	}
	while (n-- > 0 && console_len + 1 < sizeof console)
		console[console_len++] = *s++;
	console[console_len] = '\0';
}

static jmp_buf fatal_jmp;
static int fatal_armed, fatal_calls;
static char fatal_msg[256];

/* heap.h: back to the test that armed fatal_jmp, or abort. */
_Noreturn void rt_fatal(const char *msg)
{
	fatal_calls++;
	snprintf(fatal_msg, sizeof fatal_msg, "%s", msg);
	if (fatal_armed)
		longjmp(fatal_jmp, 1);
	fprintf(stderr, "rt_fatal: %s\n", msg);
	abort();
}

/* ---- the error hook, fixtures, helpers ---- */

static void (*default_hook)(const char *, const void *);
static int hook_calls;
static char hook_msg[256];
static const void *hook_ptr;

/* The tests' rt_heap_error_hook: counts the error and keeps its message. */
static void record_error(const char *msg, const void *p)
{
	hook_calls++;
	snprintf(hook_msg, sizeof hook_msg, "%s", msg);
	hook_ptr = p;
}

/* A fresh heap over a platform holding no pages, errors recorded. */
static int setup(void **state)
{
	(void)state;
	assert_int_equal(pages_out, 0);
	budget = -1;
	page_calls = 0;
	hook_calls = fatal_calls = fatal_armed = capture = 0;
	hook_msg[0] = '\0';
	hook_ptr = NULL;
	rt_heap_error_hook = record_error;
	rt_heap_init();
	return 0;
}

/* Takes back whatever pages a failed test left with the heap. */
static int teardown(void **state)
{
	(void)state;
	while (nmaps > 0) {
		nmaps--;
		give_back(maps[nmaps].base, maps[nmaps].pages);
	}
	if (arena) {
		munmap(arena, ARENA_PAGES * PAGE);
		arena = NULL;
	}
	rt_heap_error_hook = default_hook;
	budget = -1;
	capture = fatal_armed = 0;
	return 0;
}

/* From now until teardown, pages come from a fresh arena. */
static void use_arena(void)
{
	arena = mmap(NULL, ARENA_PAGES * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(arena != MAP_FAILED);
	memset(arena_used, 0, sizeof arena_used);
}

/* Fails the test with rt_heap_check's message if the heap is inconsistent. */
static void check_heap(void)
{
	char err[256];
	if (rt_heap_check(err, sizeof err) != 0)
		fail_msg("rt_heap_check: %s", err);
}

/* The heap's counters now. */
static struct rt_heap_stats stats(void)
{
	struct rt_heap_stats st;
	rt_heap_get_stats(&st);
	return st;
}

/* With no live objects: only cached spans and the table are held; after
 * rt_heap_trim, nothing, and the platform has every page back. */
static void check_all_returned(void)
{
	check_heap();
	struct rt_heap_stats st = stats();
	assert_int_equal(st.objects_live, 0);
	assert_int_equal(st.bytes_live, 0);
	assert_int_equal(st.bytes_used, 0);
	assert_int_equal(st.large_objects_live, 0);
	assert_int_equal(st.pages_held, st.pages_cached + st.pages_meta);
	assert_int_equal(pages_out, st.pages_held);
	rt_heap_trim();
	check_heap();
	st = stats();
	assert_int_equal(st.pages_held, 0);
	assert_int_equal(st.spans, 0);
	assert_int_equal(pages_out, 0);
	assert_int_equal(nmaps, 0);
}

/* Fills n bytes at p with a pattern only `tag` makes. */
static void fill(void *p, size_t n, uint64_t tag)
{
	uint64_t x = tag * 0x9e3779b97f4a7c15ULL;
	unsigned char *b = p;
	size_t i = 0;
	for (; i + 8 <= n; i += 8, x += 0x632be59bd9b4e019ULL)
		memcpy(b + i, &x, 8);
	for (; i < n; i++)
		b[i] = (unsigned char)(x >> (8 * (i % 8)));
}

/* True if n bytes at p still hold fill(p, n, tag). */
static int intact(const void *p, size_t n, uint64_t tag)
{
	uint64_t x = tag * 0x9e3779b97f4a7c15ULL, w;
	const unsigned char *b = p;
	size_t i = 0;
	for (; i + 8 <= n; i += 8, x += 0x632be59bd9b4e019ULL) {
		memcpy(&w, b + i, 8);
		if (w != x)
			return 0;
	}
	for (; i < n; i++)
		if (b[i] != (unsigned char)(x >> (8 * (i % 8))))
			return 0;
	return 1;
}

/* True if the n bytes at p are all zero. */
static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* The usable size a request of n bytes gets: its class, or whole pages. */
static size_t expected_usable(size_t n)
{
	static const size_t classes[RT_HEAP_NCLASS] = {
		16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224,
		256, 320, 384, 448, 512, 640, 768, 1024, 1280, 1536, 2048,
	};
	if (n > RT_HEAP_SMALL_MAX)
		return (n + PAGE - 1) / PAGE * PAGE;
	for (int i = 0;; i++)
		if (classes[i] >= n)
			return classes[i];
}

/* qsort order for pointers stored as uintptr_t. */
static int by_address(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* rt_free(p) must be refused: hook called once with p and a message
 * containing `what`, the counters (but errors) and the pages unchanged. */
static void expect_bad_free(void *p, const char *what)
{
	struct rt_heap_stats before = stats();
	size_t out = pages_out;
	int calls = hook_calls;
	rt_free(p);
	assert_int_equal(hook_calls, calls + 1);
	assert_ptr_equal(hook_ptr, p);
	if (!strstr(hook_msg, what))
		fail_msg("rt_free(%p) reported \"%s\", expected it to say \"%s\"", p, hook_msg, what);
	struct rt_heap_stats after = stats();
	assert_int_equal(after.errors, before.errors + 1);
	after.errors = before.errors;
	assert_memory_equal(&after, &before, sizeof after);
	assert_int_equal(pages_out, out);
	assert_false(rt_heap_owns(p));
	assert_int_equal(rt_alloc_size(p), 0);
	check_heap();
}

/* ---- the tests ---- */

/* The classes are the documented ones, and every span fits its page run. */
static void test_size_classes(void **state)
{
	(void)state;
	struct rt_heap_stats st = stats();
	for (int i = 0; i < RT_HEAP_NCLASS; i++) {
		assert_int_equal(st.class_size[i], expected_usable(i ? st.class_size[i - 1] + 1 : 1));
		assert_int_equal(st.class_size[i] % RT_HEAP_ALIGN, 0);
		assert_true(st.class_per_span[i] >= 1);
		assert_true((size_t)st.class_per_span[i] * st.class_size[i] <=
			    st.class_pages[i] * PAGE);
	}
	assert_int_equal(st.class_size[RT_HEAP_NCLASS - 1], RT_HEAP_SMALL_MAX);
	size_t sizes[] = { 0, 1, 15, 16, 17, 100, 2047, 2048, 2049, 4096, 4097, 100000 };
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		void *p = rt_alloc(sizes[i]);
		assert_non_null(p);
		assert_int_equal(rt_alloc_size(p), expected_usable(sizes[i] ? sizes[i] : 1));
		rt_free(p);
	}
	check_all_returned();
}

/* Every size from 0 to 5000, all live at once: aligned, zeroed, big
 * enough, disjoint; then freed, every page accounted for. */
static void test_every_size(void **state)
{
	(void)state;
	enum { N = 5001 };
	static void *p[N];
	static uintptr_t sorted[N];
	size_t used = 0;
	for (size_t n = 0; n < N; n++) {
		p[n] = rt_alloc(n);
		assert_non_null(p[n]);
		assert_int_equal((uintptr_t)p[n] % RT_HEAP_ALIGN, 0);
		assert_true(rt_heap_owns(p[n]));
		size_t u = rt_alloc_size(p[n]);
		assert_int_equal(u, expected_usable(n ? n : 1));
		if (!all_zero(p[n], u))
			fail_msg("rt_alloc(%zu) = %p is not zeroed", n, p[n]);
		fill(p[n], u, n + 1);
		used += u;
	}
	for (size_t n = 0; n < N; n++)
		if (!intact(p[n], rt_alloc_size(p[n]), n + 1))
			fail_msg("object of size %zu at %p was overwritten", n, p[n]);
	for (size_t n = 0; n < N; n++)
		sorted[n] = (uintptr_t)p[n];
	qsort(sorted, N, sizeof *sorted, by_address);
	for (size_t n = 0; n + 1 < N; n++)
		assert_true(sorted[n] + rt_alloc_size((void *)sorted[n]) <= sorted[n + 1]);

	struct rt_heap_stats st = stats();
	assert_int_equal(st.objects_live, N);
	assert_int_equal(st.bytes_live, (size_t)(N - 1) * N / 2);
	assert_int_equal(st.bytes_used, used);
	assert_int_equal(st.large_objects_live, N - 1 - RT_HEAP_SMALL_MAX);
	assert_int_equal(st.allocs, N);
	assert_int_equal(pages_out, st.pages_held);
	check_heap();

	for (size_t pass = 0; pass < 2; pass++) /* evens, then odds */
		for (size_t n = pass; n < N; n += 2) {
			assert_true(intact(p[n], rt_alloc_size(p[n]), n + 1));
			rt_free(p[n]);
			assert_false(rt_heap_owns(p[n]));
		}
	assert_int_equal(stats().frees, N);
	assert_int_equal(hook_calls, 0);
	check_all_returned();
}

/* The counters after a known sequence, exactly. */
static void test_stats_exact(void **state)
{
	(void)state;
	void *a = rt_alloc(10);   /* 16-byte class, a 1-page span */
	void *b = rt_alloc(100);  /* 112-byte class, a 1-page span */
	void *c = rt_alloc(3000); /* large: 1 page */
	void *d = rt_alloc(0);    /* 16-byte class, same span as a */
	assert_true(a && b && c && d);
	assert_ptr_not_equal(a, d);
	rt_free(b); /* its span empties, and is cached */

	struct rt_heap_stats st = stats();
	assert_int_equal(st.allocs, 4);
	assert_int_equal(st.frees, 1);
	assert_int_equal(st.failed_allocs, 0);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.objects_live, 3);
	assert_int_equal(st.large_objects_live, 1);
	assert_int_equal(st.bytes_live, 10 + 3000 + 0);
	assert_int_equal(st.bytes_used, 16 + 4096 + 16);
	assert_int_equal(st.class_objects[0], 2);
	assert_int_equal(st.class_objects[6], 0);
	assert_int_equal(st.class_spans[0], 1);
	assert_int_equal(st.class_spans[6], 1);
	assert_int_equal(st.spans, 2);
	assert_int_equal(st.pages_meta, 1);
	assert_int_equal(st.pages_cached, 1);
	assert_int_equal(st.pages_held, 1 + 1 + 1 + 1); /* two spans, c, the table */
	assert_int_equal(pages_out, 4);
	check_heap();

	rt_free(c);
	st = stats();
	assert_int_equal(st.pages_held, 3);
	assert_int_equal(pages_out, 3);
	assert_int_equal(st.large_objects_live, 0);
	assert_int_equal(st.bytes_live, 10);
	rt_free(a);
	rt_free(d);
	st = stats();
	assert_int_equal(st.allocs, 4);
	assert_int_equal(st.frees, 4);
	assert_int_equal(st.pages_cached, 2);
	check_all_returned();
}

/* Large objects: page aligned, zeroed, whole pages, and each one's pages
 * go back to the platform as soon as it is freed. */
static void test_large_objects(void **state)
{
	(void)state;
	size_t sizes[] = { 2049, 4095, 4096, 4097, 65536, 1 << 20, (16 << 20) + 1 };
	enum { N = sizeof sizes / sizeof *sizes };
	void *p[N];
	for (size_t i = 0; i < N; i++) {
		size_t before = pages_out, pages = (sizes[i] + PAGE - 1) / PAGE;
		p[i] = rt_alloc(sizes[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % PAGE, 0);
		assert_int_equal(rt_alloc_size(p[i]), pages * PAGE);
		assert_true(all_zero(p[i], pages * PAGE));
		fill(p[i], pages * PAGE, i + 1);
		assert_int_equal(pages_out - before, pages + (i == 0)); /* the table, once */
		assert_true(rt_heap_owns(p[i]));
		assert_false(rt_heap_owns((char *)p[i] + 16));
	}
	expect_bad_free((char *)p[4] + PAGE, "points 4096 bytes into the 65536-byte object");
	expect_bad_free((char *)p[0] + 1, "pass the pointer rt_alloc returned");
	for (size_t i = 0; i < N; i++) {
		size_t before = pages_out;
		assert_true(intact(p[i], rt_alloc_size(p[i]), i + 1));
		rt_free(p[i]);
		assert_int_equal(before - pages_out, (sizes[i] + PAGE - 1) / PAGE);
		assert_false(rt_heap_owns(p[i]));
	}
	check_all_returned();
}

/* Freed objects are reused (the last freed first), zeroed again; emptied
 * spans go back to the platform but one per class. */
static void test_reuse_no_leak(void **state)
{
	(void)state;
	enum { N = 200 };
	void *p[N], *q[N];
	size_t per_span = stats().class_per_span[3]; /* 64 bytes */
	for (int i = 0; i < N; i++) {
		p[i] = rt_alloc(64);
		assert_non_null(p[i]);
		fill(p[i], 64, (uint64_t)i + 1);
	}
	size_t spans = (N + per_span - 1) / per_span, peak = pages_out;
	uintptr_t span0 = (uintptr_t)p[0] & ~(PAGE - 1);
	assert_int_equal(stats().class_spans[3], spans);

	void *x = p[N / 2];
	rt_free(x);
	void *y = rt_alloc(64);
	assert_ptr_equal(y, x);
	assert_true(all_zero(y, 64));
	p[N / 2] = y;

	for (int i = 0; i < N; i++)
		rt_free(p[i]);
	struct rt_heap_stats st = stats();
	assert_int_equal(st.class_spans[3], 1);
	assert_int_equal(st.pages_cached, 1);
	assert_int_equal(pages_out, peak - (spans - 1));
	check_heap();

	for (int i = 0; i < N; i++) {
		q[i] = rt_alloc(64);
		assert_non_null(q[i]);
		assert_true(all_zero(q[i], 64));
	}
	assert_int_equal(pages_out, peak);
	/* the cached span (the first to empty) served first */
	for (size_t i = 0; i < per_span; i++)
		assert_int_equal((uintptr_t)q[i] & ~(PAGE - 1), span0);
	for (int i = 0; i < N; i++)
		rt_free(q[i]);
	check_all_returned();
}

/* An alloc/free loop takes its span once; filling and emptying two spans
 * keeps one of them. */
static void test_no_thrash(void **state)
{
	(void)state;
	for (int i = 0; i < 10000; i++) {
		void *p = rt_alloc(48);
		assert_non_null(p);
		rt_free(p);
	}
	assert_int_equal(page_calls, 2); /* the table and one span */
	assert_int_equal(stats().pages_cached, 1);

	size_t per_span = stats().class_per_span[21]; /* 2048 bytes */
	void *p[64];
	assert_true(per_span + 1 <= 64);
	for (size_t i = 0; i <= per_span; i++)
		assert_non_null(p[i] = rt_alloc(2048));
	assert_int_equal(stats().class_spans[21], 2);
	rt_free(p[per_span]); /* the second span empties: cached */
	assert_int_equal(stats().class_spans[21], 2);
	for (size_t i = 0; i < per_span; i++)
		rt_free(p[i]); /* the first empties too: released */
	struct rt_heap_stats st = stats();
	assert_int_equal(st.class_spans[21], 1);
	assert_int_equal(st.pages_cached, 1 + st.class_pages[21]);
	check_all_returned();
}

/* A second free of a small object is caught and changes nothing. */
static void test_double_free_small(void **state)
{
	(void)state;
	char *a = rt_alloc(40), *b = rt_alloc(40);
	fill(b, 40, 7);
	rt_free(a);
	expect_bad_free(a, "double free");
	expect_bad_free(a, "double free");
	char *c = rt_alloc(40);
	assert_ptr_equal(c, a); /* the object came back once, not twice */
	char *d = rt_alloc(40);
	assert_ptr_not_equal(d, a);
	assert_ptr_not_equal(d, b);
	assert_true(intact(b, 40, 7));
	rt_free(b);
	rt_free(c);
	rt_free(d);
	check_all_returned();
}

/* A large object's pages are gone once freed: a second free finds no run. */
static void test_double_free_large(void **state)
{
	(void)state;
	void *a = rt_alloc(10000), *b = rt_alloc(10000);
	rt_free(a);
	expect_bad_free(a, "not a heap object");
	rt_free(b);
	check_all_returned();
}

/* Pointers the heap never handed out, and pointers into its objects,
 * spans and headers, are refused without being followed. */
static void test_wild_and_interior_frees(void **state)
{
	(void)state;
	int local;
	static int global;
	void *m = malloc(64);
	char *a = rt_alloc(32), *big = rt_alloc(5000);
	fill(a, 32, 1);
	fill(big, 5000, 2);
	uintptr_t span = (uintptr_t)a & ~(PAGE - 1); /* the 32-byte class has 1-page spans */

	expect_bad_free(&local, "not a heap object");
	expect_bad_free(&global, "not a heap object");
	expect_bad_free(m, "not a heap object");
	expect_bad_free((void *)16, "not a heap object");
	expect_bad_free((void *)(UINTPTR_MAX & ~(uintptr_t)15), "not a heap object");
	expect_bad_free(a + 1, "not the start of an object");
	expect_bad_free(a + 8, "not the start of an object");
	expect_bad_free(a + 16, "not the start of an object");
	expect_bad_free((void *)span, "not the start of an object");        /* the header */
	expect_bad_free((void *)(span + 64), "not the start of an object");
	expect_bad_free((void *)(span + PAGE - 16), "not the start of an object"); /* the tail */
	expect_bad_free(big + 4096, "pass the pointer rt_alloc returned");
	expect_bad_free(big + 4999, "pass the pointer rt_alloc returned");

	int calls = hook_calls;
	rt_free(NULL);
	assert_int_equal(hook_calls, calls);
	assert_false(rt_heap_owns(NULL));
	assert_int_equal(rt_alloc_size(NULL), 0);

	assert_true(intact(a, 32, 1));
	assert_true(intact(big, 5000, 2));
	free(m);
	rt_free(a);
	rt_free(big);
	check_all_returned();
}

/* Spans next to each other, and pages reused for a different kind of run:
 * a stale pointer to a freed large object now falls on a span header. */
static void test_adjacent_spans(void **state)
{
	(void)state;
	use_arena();
	char *large = rt_alloc(3 * PAGE); /* the table takes page 0, this 1..3 */
	char *small = rt_alloc(16);       /* its span: page 4 */
	assert_ptr_equal(large, arena + PAGE);
	assert_ptr_equal(small - (uintptr_t)small % PAGE, arena + 4 * PAGE);
	rt_free(large);
	char *mid = rt_alloc(1500); /* a 2-page span for 1536 bytes: pages 1..2 */
	assert_ptr_equal((uintptr_t)mid & ~(PAGE - 1), arena + PAGE);
	expect_bad_free(large, "not the start of an object");
	assert_true(rt_heap_owns(mid));

	/* Fill two spans of 2048-byte objects that touch: the object past the
	 * end of one is the other's header. */
	size_t per_span = stats().class_per_span[21];
	char *p[32];
	for (size_t i = 0; i < 2 * per_span; i++) {
		p[i] = rt_alloc(2048);
		assert_non_null(p[i]);
		fill(p[i], 2048, i);
	}
	char *first_span = p[0] - (uintptr_t)p[0] % PAGE;
	char *next_span = p[per_span] - (uintptr_t)p[per_span] % PAGE;
	assert_ptr_equal(next_span, first_span + stats().class_pages[21] * PAGE);
	expect_bad_free(p[per_span - 1] + 2048, "not the start of an object"); /* the tail */
	expect_bad_free(next_span - 16, "not the start of an object");
	expect_bad_free(next_span, "not the start of an object"); /* the next header */
	for (size_t i = 0; i < 2 * per_span; i++) {
		assert_true(intact(p[i], 2048, i));
		rt_free(p[i]);
	}
	rt_free(mid);
	rt_free(small);
	check_all_returned();
}

/* The default hook prints what went wrong and calls rt_fatal. */
static void test_default_hook_is_fatal(void **state)
{
	(void)state;
	char *a = rt_alloc(24);
	rt_free(a);
	rt_heap_error_hook = default_hook;
	capture = 1;
	console_len = 0;
	fatal_armed = 1;
	if (setjmp(fatal_jmp) == 0) {
		rt_free(a);
		fail_msg("rt_free of a freed object returned");
	}
	fatal_armed = capture = 0;
	rt_heap_error_hook = record_error;
	assert_int_equal(fatal_calls, 1);
	assert_non_null(strstr(fatal_msg, "heap"));
	if (!strstr(console, "heap: rt_free(0x") || !strstr(console, "double free"))
		fail_msg("the default hook printed \"%s\"", console);
	assert_int_equal(stats().errors, 1);
	check_all_returned();
}

/* With N pages the platform runs dry: rt_alloc returns NULL, the heap
 * stays consistent, and everything given can be given back. */
static void test_out_of_memory(void **state)
{
	(void)state;
	static const size_t sizes[] = { 24, 700, 2000, 5000, 16 };
	static void *p[4096];
	for (long pages = 0; pages <= 24; pages++) {
		budget = pages;
		size_t n = 0;
		for (;; n++) {
			assert_true(n < 4096);
			p[n] = rt_alloc(sizes[n % 5]);
			if (!p[n])
				break;
			fill(p[n], sizes[n % 5], n);
		}
		check_heap();
		struct rt_heap_stats st = stats();
		assert_int_equal(st.failed_allocs, 1);
		assert_int_equal(st.objects_live, n);
		assert_true(pages_out <= (size_t)pages);
		assert_null(rt_alloc(100000));
		check_heap();
		for (size_t i = 0; i < n; i++) {
			assert_true(intact(p[i], sizes[i % 5], i));
			rt_free(p[i]);
		}
		check_all_returned();
		budget = -1;
		rt_heap_init();
	}
	assert_null(rt_alloc(SIZE_MAX));
	assert_null(rt_alloc(SIZE_MAX - PAGE));
	assert_null(rt_alloc((size_t)1 << 40));
	assert_int_equal(stats().failed_allocs, 3);
	check_all_returned();
}

/* When the span table must grow and the platform has no pages for it, the
 * allocation fails before taking any; with pages, the table doubles. */
static void test_table_growth_out_of_memory(void **state)
{
	(void)state;
	static void *p[1024];
	size_t n = 0;
	for (;; n++) {
		assert_true(n < 1024);
		budget = n == 0 ? 2 : 1; /* room for the object, not for a bigger table */
		p[n] = rt_alloc(3000);
		if (!p[n])
			break;
	}
	assert_true(n >= 100); /* a page of table entries */
	size_t out = pages_out;
	check_heap();
	assert_int_equal(stats().pages_meta, 1);
	budget = 3;
	p[n] = rt_alloc(3000);
	assert_non_null(p[n]);
	assert_int_equal(stats().pages_meta, 2);
	assert_int_equal(pages_out, out + 2 - 1 + 1);
	check_heap();
	for (size_t i = 0; i <= n; i++) {
		assert_true(rt_heap_owns(p[i]));
		rt_free(p[i]);
	}
	check_all_returned();
}

/* A freed object's link overwritten: rt_heap_check says so, and rt_alloc
 * reports it, rebuilds the free list from the bitmap and carries on. */
static void test_corrupt_free_list(void **state)
{
	(void)state;
	char err[256];
	void *a = rt_alloc(64), *b = rt_alloc(64);
	rt_free(a);
	*(uintptr_t *)a = 0x1234; /* a use after free */
	assert_int_equal(rt_heap_check(err, sizeof err), -1);
	assert_non_null(strstr(err, "not an object of this span"));
	void *c = rt_alloc(64); /* a itself is still a fine object to hand out */
	assert_ptr_equal(c, a);
	assert_int_equal(hook_calls, 0);
	void *d = rt_alloc(64);
	assert_int_equal(hook_calls, 1);
	assert_non_null(strstr(hook_msg, "free list"));
	assert_non_null(d);
	assert_ptr_not_equal(d, a);
	assert_ptr_not_equal(d, b);
	assert_true(all_zero(d, 64));
	check_heap();
	rt_free(b);
	rt_free(c);
	rt_free(d);
	check_all_returned();
}

/* A write into a freed object shows in rt_heap_check, through the poison. */
static void test_write_after_free(void **state)
{
	(void)state;
	char err[256];
	char *a = rt_alloc(100);
	rt_free(a);
	a[50] = 1;
	assert_int_equal(rt_heap_check(err, sizeof err), -1);
	assert_non_null(strstr(err, "written after it was freed"));
	char *b = rt_alloc(100); /* the same object, zeroed: consistent again */
	assert_ptr_equal(b, a);
	check_heap();
	rt_free(b);
	check_all_returned();
}

/* A cycle in a free list is found, not followed forever. */
static void test_free_list_cycle(void **state)
{
	(void)state;
	char err[256];
	void *a = rt_alloc(32), *b = rt_alloc(32);
	rt_free(a);
	rt_free(b); /* list: b, a, ... */
	uintptr_t saved = *(uintptr_t *)a;
	*(uintptr_t *)a = (uintptr_t)b;
	assert_int_equal(rt_heap_check(err, sizeof err), -1);
	assert_non_null(strstr(err, "cycle"));
	*(uintptr_t *)a = saved;
	check_all_returned();
}

/* Enough spans to grow the table a few times; every object still found. */
static void test_many_spans(void **state)
{
	(void)state;
	enum { N = 3000 };
	static void *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = rt_alloc(i % 2 ? 2048 : 1200);
		assert_non_null(p[i]);
		fill(p[i], 1200, (uint64_t)i);
	}
	assert_true(stats().pages_meta >= 4);
	check_heap();
	for (int i = 0; i < N; i++)
		assert_true(rt_heap_owns(p[i]));
	for (int i = N - 1; i >= 0; i -= 3) /* out of order */
		rt_free(p[i]);
	check_heap();
	for (int i = 0; i < N; i++)
		if ((N - 1 - i) % 3 != 0) {
			assert_true(intact(p[i], 1200, (uint64_t)i));
			rt_free(p[i]);
		}
	check_all_returned();
}

/* 200,000 random allocs and frees against a shadow copy of what is live. */
static void test_random(void **state)
{
	(void)state;
	enum { SLOTS = 3000, OPS = 200000 };
	static struct {
		void *p;
		size_t size;
		uint64_t tag;
	} live[SLOTS];
	uint64_t x = 0x2545f4914f6cdd1dULL, tag = 0;
	size_t nlive = 0, bytes = 0, large = 0, peak = 0;
	memset(live, 0, sizeof live);
	for (int op = 0; op < OPS; op++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		size_t slot = (size_t)(x % SLOTS);
		int draining = (op / 25000) % 4 == 3; /* now and then, only frees */
		if (live[slot].p) {
			if (!intact(live[slot].p, live[slot].size, live[slot].tag))
				fail_msg("op %d: object %p (%zu bytes) overwritten", op, live[slot].p,
					 live[slot].size);
			rt_free(live[slot].p);
			nlive--;
			bytes -= live[slot].size;
			large -= live[slot].size > RT_HEAP_SMALL_MAX;
			live[slot].p = NULL;
		} else if (!draining) {
			unsigned r = (unsigned)(x >> 32) % 100;
			size_t size = (size_t)(x >> 40);
			if (r < 70)
				size %= 257;
			else if (r < 90)
				size = 257 + size % (RT_HEAP_SMALL_MAX - 256);
			else if (r < 99)
				size = RT_HEAP_SMALL_MAX + 1 + size % 16384;
			else
				size %= 256 * 1024;
			void *p = rt_alloc(size);
			assert_non_null(p);
			assert_int_equal((uintptr_t)p % RT_HEAP_ALIGN, 0);
			assert_true(rt_alloc_size(p) >= size);
			if (!all_zero(p, size))
				fail_msg("op %d: rt_alloc(%zu) = %p not zeroed", op, size, p);
			fill(p, size, ++tag);
			live[slot].p = p;
			live[slot].size = size;
			live[slot].tag = tag;
			nlive++;
			bytes += size;
			large += size > RT_HEAP_SMALL_MAX;
			if (nlive > peak)
				peak = nlive;
		}
		if (op % 10000 == 9999) {
			check_heap();
			struct rt_heap_stats st = stats();
			assert_int_equal(st.objects_live, nlive);
			assert_int_equal(st.bytes_live, bytes);
			assert_int_equal(st.large_objects_live, large);
			assert_int_equal(st.pages_held, pages_out);
		}
	}
	assert_true(peak > SLOTS / 3);
	assert_int_equal(hook_calls, 0);
	for (size_t i = 0; i < SLOTS; i++)
		if (live[i].p) {
			assert_true(intact(live[i].p, live[i].size, live[i].tag));
			rt_free(live[i].p);
		}
	check_all_returned();
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	default_hook = rt_heap_error_hook;
	const struct CMUnitTest tests[] = {
		T(test_size_classes),
		T(test_every_size),
		T(test_stats_exact),
		T(test_large_objects),
		T(test_reuse_no_leak),
		T(test_no_thrash),
		T(test_double_free_small),
		T(test_double_free_large),
		T(test_wild_and_interior_frees),
		T(test_adjacent_spans),
		T(test_default_hook_is_fatal),
		T(test_out_of_memory),
		T(test_table_growth_out_of_memory),
		T(test_corrupt_free_list),
		T(test_write_after_free),
		T(test_free_list_cycle),
		T(test_many_spans),
		T(test_random),
	};
	int failed = unit_run("heap", tests);
	free(maps);
	return failed;
}
