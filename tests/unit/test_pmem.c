/*
 * test_pmem.c: the physical page allocator (kernel/page.c).
 *
 * Every test owns a struct pmem whose bitmap is malloc'd at
 * exactly pmem_bitmap_bytes(lo, hi), so AddressSanitizer reports any
 * access past it. check_counts() recounts the bitmap after each step.
 */
#include "unit.h"

#include "pmem.h"

#define F 4096ULL
#define GiB (1ULL << 30)

struct fixture {
	struct pmem fa;
	uint64_t *bitmap;
	uint64_t lo, hi;
};

/* Sets up an allocator over [lo, hi) with every page in use. */
static struct fixture *make(void **state, uint64_t lo, uint64_t hi)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	*state = fx;
	fx->lo = lo;
	fx->hi = hi;
	fx->bitmap = malloc(pmem_bitmap_bytes(lo, hi));
	assert_non_null(fx->bitmap);
	memset(fx->bitmap, 0xa5, pmem_bitmap_bytes(lo, hi)); /* pmem_init must clear it */
	pmem_init(&fx->fa, lo, hi, fx->bitmap);
	return fx;
}

/* Frees the fixture even when the test failed half-way. */
static int teardown(void **state)
{
	struct fixture *fx = *state;
	if (fx) {
		free(fx->bitmap);
		free(fx);
	}
	return 0;
}

/* fa->free must equal the bits set, and never exceed fa->managed. */
static void check_counts(const struct pmem *fa)
{
	uint64_t bits = 0, words = (fa->count + 63) / 64;
	for (uint64_t w = 0; w < words; w++)
		bits += (uint64_t)__builtin_popcountll(fa->bitmap[w]);
	assert_int_equal(fa->free, bits);
	assert_true(fa->free <= fa->managed);
}

static void test_bitmap_bytes(void **state)
{
	(void)state;
	assert_int_equal(pmem_bitmap_bytes(0, 64 * F), 8);
	assert_int_equal(pmem_bitmap_bytes(0, 64 * F + 1), 16); /* a partial page counts */
	assert_int_equal(pmem_bitmap_bytes(0, 65 * F), 16);
	assert_int_equal(pmem_bitmap_bytes(F, 65 * F), 8);
	assert_int_equal(pmem_bitmap_bytes(F + 1, 65 * F), 8); /* lo rounds down */
	assert_int_equal(pmem_bitmap_bytes(F, F), 0);
	/* 4 GiB + 64 MiB from 0x1000: 1064959 pages, 16641 words. */
	assert_int_equal(pmem_bitmap_bytes(0x1000, 4 * GiB + (64ULL << 20)), 16640 * 8);
}

static void test_init_all_in_use(void **state)
{
	struct fixture *fx = make(state, 0x1000, 0x100000);
	assert_int_equal(fx->fa.first, 1);
	assert_int_equal(fx->fa.count, 255);
	assert_int_equal(fx->fa.free, 0);
	assert_int_equal(fx->fa.managed, 0);
	for (uint64_t a = 0; a < 0x101000; a += F)
		assert_false(pmem_is_free(&fx->fa, a));
	assert_int_equal(pmem_alloc(&fx->fa), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 1), 0);
	check_counts(&fx->fa);
}

/* Only whole pages inside an added range become free. */
static void test_add_free_unaligned(void **state)
{
	struct fixture *fx = make(state, 0, 0x100000);
	assert_int_equal(pmem_add_free(&fx->fa, 0x1800, 0x3000), 2); /* 0x2000, 0x3000 */
	assert_false(pmem_is_free(&fx->fa, 0x1000));
	assert_true(pmem_is_free(&fx->fa, 0x2000));
	assert_true(pmem_is_free(&fx->fa, 0x3000));
	assert_false(pmem_is_free(&fx->fa, 0x4000));
	assert_int_equal(pmem_add_free(&fx->fa, 0x5001, 0xfff), 0); /* inside one page */
	assert_int_equal(pmem_add_free(&fx->fa, 0x5000, 0xfff), 0);
	assert_int_equal(pmem_add_free(&fx->fa, 0x5000, 0), 0);
	assert_int_equal(pmem_add_free(&fx->fa, 0x5000, 0x1000), 1);
	assert_int_equal(fx->fa.free, 3);
	assert_int_equal(fx->fa.managed, 3);
	check_counts(&fx->fa);
}

/* Overlapping adds count each page once. */
static void test_add_free_overlapping(void **state)
{
	struct fixture *fx = make(state, 0, 0x100000);
	assert_int_equal(pmem_add_free(&fx->fa, 0x10000, 0x10000), 16);
	assert_int_equal(pmem_add_free(&fx->fa, 0x10000, 0x10000), 0);
	assert_int_equal(pmem_add_free(&fx->fa, 0x8000, 0x10000), 8);   /* 0x8000..0xf000 new */
	assert_int_equal(pmem_add_free(&fx->fa, 0x18000, 0x10000), 8);  /* 0x20000..0x27000 new */
	assert_int_equal(pmem_add_free(&fx->fa, 0x6000, 0x30000), 2 + 14); /* both ends */
	assert_int_equal(fx->fa.free, 16 + 8 + 8 + 16);
	assert_int_equal(fx->fa.managed, fx->fa.free);
	check_counts(&fx->fa);
}

/* Ranges outside [lo, hi) are clipped, including ones ending at 2^64. */
static void test_add_free_clipped(void **state)
{
	struct fixture *fx = make(state, 0x10000, 0x20000);
	assert_int_equal(pmem_add_free(&fx->fa, 0, 0x10000), 0);
	assert_int_equal(pmem_add_free(&fx->fa, 0x20000, 0x10000), 0);
	assert_int_equal(pmem_add_free(&fx->fa, 0xf000, 0x3000), 2);
	assert_int_equal(pmem_add_free(&fx->fa, 0x1e000, 0x5000), 2);
	assert_false(pmem_is_free(&fx->fa, 0xf000));
	assert_false(pmem_is_free(&fx->fa, 0x20000));
	assert_int_equal(pmem_add_free(&fx->fa, 0xfffffffffffff000ULL, 0x1000), 0);
	assert_int_equal(pmem_add_free(&fx->fa, 0xfffffffffffff800ULL, 0x800), 0);
	assert_int_equal(pmem_add_free(&fx->fa, 0xffffffff00000000ULL, 0x100000000ULL), 0);
	assert_int_equal(fx->fa.free, 4);
	/* A size that runs past 2^64 means "to the top". */
	assert_int_equal(pmem_add_free(&fx->fa, 0x1a000, ~0ULL), 4);
	assert_int_equal(fx->fa.free, 8);
	check_counts(&fx->fa);
}

/* pmem_reserve takes every page the range touches, even partly. */
static void test_reserve_unaligned(void **state)
{
	struct fixture *fx = make(state, 0, 0x100000);
	pmem_add_free(&fx->fa, 0x1000, 0x20000);
	uint64_t before = fx->fa.free;
	assert_int_equal(pmem_reserve(&fx->fa, 0x2800, 0x10), 1);      /* page 0x2000 */
	assert_int_equal(pmem_reserve(&fx->fa, 0x4fff, 2), 2);         /* 0x4000, 0x5000 */
	assert_int_equal(pmem_reserve(&fx->fa, 0x4000, 0x2000), 0);    /* already taken */
	assert_int_equal(pmem_reserve(&fx->fa, 0x8000, 0x1000), 1);    /* exactly one */
	assert_int_equal(pmem_reserve(&fx->fa, 0x9000, 0x1001), 2);    /* 0x9000, 0xa000 */
	assert_int_equal(pmem_reserve(&fx->fa, 0x2000, 0x5000), 2);    /* overlapping: 0x3000, 0x6000 */
	assert_false(pmem_is_free(&fx->fa, 0x2000));
	assert_false(pmem_is_free(&fx->fa, 0x6000));
	assert_true(pmem_is_free(&fx->fa, 0x7000));
	assert_true(pmem_is_free(&fx->fa, 0xb000));
	assert_int_equal(fx->fa.free, before - 8);
	assert_int_equal(fx->fa.managed, before - 8);
	check_counts(&fx->fa);
	/* Reserved pages are never handed out. */
	uint64_t a;
	while ((a = pmem_alloc(&fx->fa)) != 0)
		assert_true(a == 0x1000 || a == 0x7000 || a >= 0xb000);
}

/* Reserving everything, with a size that runs past 2^64, empties the allocator. */
static void test_reserve_to_top(void **state)
{
	struct fixture *fx = make(state, 0, 0x100000);
	pmem_add_free(&fx->fa, 0, 0x100000);
	assert_int_equal(fx->fa.free, 255);
	assert_int_equal(pmem_reserve(&fx->fa, 0x80000, ~0ULL), 128);
	assert_int_equal(fx->fa.free, 127);
	assert_int_equal(pmem_reserve(&fx->fa, 0, ~0ULL), 127);
	assert_int_equal(fx->fa.free, 0);
	assert_int_equal(pmem_alloc(&fx->fa), 0);
	check_counts(&fx->fa);
}

/* Physical address 0 means "no page", so page 0 is never free. */
static void test_page_zero_never_handed_out(void **state)
{
	struct fixture *fx = make(state, 0, 16 * F);
	assert_int_equal(pmem_add_free(&fx->fa, 0, 16 * F), 15);
	assert_false(pmem_is_free(&fx->fa, 0));
	for (int i = 0; i < 15; i++) {
		uint64_t a = pmem_alloc(&fx->fa);
		assert_int_not_equal(a, 0);
		assert_int_equal(a % F, 0);
	}
	assert_int_equal(pmem_alloc(&fx->fa), 0);
	assert_int_equal(pmem_free(&fx->fa, 0), -1);
	assert_int_equal(fx->fa.free, 0);
	check_counts(&fx->fa);
	/* Nor by a run. */
	for (uint64_t a = F; a < 16 * F; a += F)
		assert_int_equal(pmem_free(&fx->fa, a), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 15), F);
	assert_int_equal(pmem_alloc_run(&fx->fa, 1), 0);
}

/* Allocation hands out each free page once, then returns 0 for good. */
static void test_alloc_until_exhausted(void **state)
{
	struct fixture *fx = make(state, 0x1000, 0x1000 + 300 * F);
	pmem_add_free(&fx->fa, 0, ~0ULL);
	assert_int_equal(fx->fa.free, 300);
	char *seen = calloc(301, 1);
	assert_non_null(seen);
	for (int i = 0; i < 300; i++) {
		uint64_t a = pmem_alloc(&fx->fa);
		assert_true(a >= 0x1000 && a < 0x1000 + 300 * F && a % F == 0);
		assert_false(seen[a / F]);
		seen[a / F] = 1;
		assert_false(pmem_is_free(&fx->fa, a));
		assert_int_equal(fx->fa.free, 299 - i);
	}
	free(seen);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pmem_alloc(&fx->fa), 0);
	assert_int_equal(fx->fa.free, 0);
	assert_int_equal(fx->fa.managed, 300);
	check_counts(&fx->fa);
	/* One page back: that one comes out again, and nothing else. */
	assert_int_equal(pmem_free(&fx->fa, 0x1000 + 123 * F), 0);
	assert_int_equal(pmem_alloc(&fx->fa), 0x1000 + 123 * F);
	assert_int_equal(pmem_alloc(&fx->fa), 0);
}

static void test_free_errors(void **state)
{
	struct fixture *fx = make(state, 0x10000, 0x20000);
	pmem_add_free(&fx->fa, 0x10000, 0x10000);
	uint64_t a = pmem_alloc(&fx->fa);
	assert_int_not_equal(a, 0);
	uint64_t free_before = fx->fa.free;
	assert_int_equal(pmem_free(&fx->fa, a + 1), -1);     /* unaligned */
	assert_int_equal(pmem_free(&fx->fa, a + 0x800), -1);
	assert_int_equal(pmem_free(&fx->fa, 0xf000), -1);    /* below lo */
	assert_int_equal(pmem_free(&fx->fa, 0x20000), -1);   /* at hi */
	assert_int_equal(pmem_free(&fx->fa, 0x7fff0000), -1); /* far above */
	assert_int_equal(pmem_free(&fx->fa, ~0ULL & ~(F - 1)), -1);
	assert_int_equal(pmem_free(&fx->fa, 0), -1);
	assert_int_equal(fx->fa.free, free_before);
	assert_int_equal(pmem_free(&fx->fa, a), 0);
	assert_int_equal(pmem_free(&fx->fa, a), -1);         /* double free */
	assert_int_equal(fx->fa.free, free_before + 1);
	assert_int_equal(pmem_free(&fx->fa, 0x11000), -1);   /* free, never allocated */
	check_counts(&fx->fa);
}

/* Many small ranges with holes between them: only the ranges come out. */
static void test_fragmented_map(void **state)
{
	struct fixture *fx = make(state, 0, 4000 * F);
	uint64_t expect = 0;
	/* Frames 3k+1 and 3k+2 are RAM, 3k is a hole; some ranges unaligned. */
	for (uint64_t k = 0; k < 1333; k++) {
		uint64_t base = (3 * k + 1) * F;
		if (k % 7 == 0)
			expect += pmem_add_free(&fx->fa, base - 0x800, 2 * F + 0x800);
		else
			expect += pmem_add_free(&fx->fa, base, 2 * F);
	}
	assert_int_equal(expect, 2 * 1333);
	assert_int_equal(fx->fa.free, expect);
	check_counts(&fx->fa);
	uint64_t got = 0, a;
	while ((a = pmem_alloc(&fx->fa)) != 0) {
		assert_int_not_equal((a / F) % 3, 0);
		got++;
	}
	assert_int_equal(got, expect);
	assert_int_equal(fx->fa.free, 0);
	check_counts(&fx->fa);
}

/* RAM above 4 GiB: a bitmap from 0x1000 to past 4 GiB, mostly holes. */
static void test_ram_above_4g(void **state)
{
	uint64_t hi = 4 * GiB + (64ULL << 20);
	struct fixture *fx = make(state, 0x1000, hi);
	assert_int_equal(pmem_add_free(&fx->fa, 0x1000, 0x9f000), 0x9f);        /* low RAM */
	assert_int_equal(pmem_add_free(&fx->fa, 0x100000, 0x7ef00000), 0x7ef00); /* to 2 GiB */
	assert_int_equal(pmem_add_free(&fx->fa, 4 * GiB, 32ULL << 20), 8192);
	assert_int_equal(pmem_add_free(&fx->fa, 4 * GiB + (48ULL << 20), 32ULL << 20), 4096);
	uint64_t total = 0x9f + 0x7ef00 + 8192 + 4096;
	assert_int_equal(fx->fa.free, total);
	assert_true(pmem_is_free(&fx->fa, 4 * GiB));
	assert_true(pmem_is_free(&fx->fa, hi - F));
	assert_false(pmem_is_free(&fx->fa, hi));
	assert_false(pmem_is_free(&fx->fa, 4 * GiB - F));
	/* Runs above 4 GiB: first fit, and none longer than a stretch of RAM. */
	pmem_reserve(&fx->fa, 0, 4 * GiB);
	assert_int_equal(fx->fa.free, 8192 + 4096);
	assert_int_equal(pmem_alloc_run(&fx->fa, 5000), 4 * GiB);
	assert_int_equal(pmem_alloc_run(&fx->fa, 4097), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 4096), 4 * GiB + (48ULL << 20));
	uint64_t got = 0, a;
	while ((a = pmem_alloc(&fx->fa)) != 0) {
		assert_true(a >= 4 * GiB + 5000 * F && a < 4 * GiB + (32ULL << 20));
		got++;
	}
	assert_int_equal(got, 8192 - 5000);
	check_counts(&fx->fa);
	/* Frees above 4 GiB work like any other. */
	assert_int_equal(pmem_free(&fx->fa, 4 * GiB + 7 * F), 0);
	assert_int_equal(pmem_alloc(&fx->fa), 4 * GiB + 7 * F);
}

/* A run crossing the boundary between two bitmap words. */
static void test_alloc_run_across_words(void **state)
{
	struct fixture *fx = make(state, 0, 512 * F);
	pmem_add_free(&fx->fa, 60 * F, 11 * F); /* pages 60..70 */
	assert_int_equal(pmem_alloc_run(&fx->fa, 12), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 11), 60 * F);
	assert_int_equal(fx->fa.free, 0);
	for (int i = 60; i <= 70; i++)
		assert_false(pmem_is_free(&fx->fa, (uint64_t)i * F));
	check_counts(&fx->fa);

	/* Longer than a word, over a completely free word. */
	pmem_add_free(&fx->fa, 100 * F, 200 * F); /* pages 100..299 */
	assert_int_equal(pmem_alloc_run(&fx->fa, 150), 100 * F);
	assert_int_equal(pmem_alloc_run(&fx->fa, 50), 250 * F);
	assert_int_equal(pmem_alloc_run(&fx->fa, 1), 0);
	check_counts(&fx->fa);
}

/* Free pages on both sides of an empty word do not form a run. */
static void test_alloc_run_not_across_empty_word(void **state)
{
	struct fixture *fx = make(state, 0, 512 * F);
	pmem_add_free(&fx->fa, 60 * F, 4 * F);   /* 60..63, end of word 0 */
	pmem_add_free(&fx->fa, 128 * F, 4 * F);  /* 128..131, start of word 2 */
	assert_int_equal(pmem_alloc_run(&fx->fa, 8), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 5), 0);
	pmem_add_free(&fx->fa, 64 * F, 64 * F);  /* fill word 1: now 60..131 */
	assert_int_equal(pmem_alloc_run(&fx->fa, 72), 60 * F);
	assert_int_equal(fx->fa.free, 0);
	check_counts(&fx->fa);
}

/* Plenty of free pages, none adjacent: every run longer than 1 fails. */
static void test_alloc_run_fragmented(void **state)
{
	struct fixture *fx = make(state, 0, 1000 * F);
	for (uint64_t i = 1; i < 1000; i += 2)
		pmem_add_free(&fx->fa, i * F, F);
	assert_int_equal(fx->fa.free, 500);
	assert_int_equal(pmem_alloc_run(&fx->fa, 2), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 100), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 0), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 501), 0);
	assert_int_equal(fx->fa.free, 500);
	assert_int_equal(pmem_alloc_run(&fx->fa, 1), F);
	/* Freeing a neighbour makes a run of 2. */
	pmem_add_free(&fx->fa, 10 * F, F);
	assert_int_equal(pmem_alloc_run(&fx->fa, 2), 9 * F);
	check_counts(&fx->fa);
}

/* A bitmap whose last word is partial: runs reach the last page, not past it. */
static void test_alloc_run_partial_last_word(void **state)
{
	struct fixture *fx = make(state, F, 101 * F); /* pages 1..100: 100 bits */
	pmem_add_free(&fx->fa, 0, ~0ULL);
	assert_int_equal(fx->fa.free, 100);
	assert_int_equal(pmem_alloc_run(&fx->fa, 90), F);
	assert_int_equal(pmem_alloc_run(&fx->fa, 11), 0);
	assert_int_equal(pmem_alloc_run(&fx->fa, 10), 91 * F);
	assert_int_equal(pmem_alloc(&fx->fa), 0);
	check_counts(&fx->fa);
}

/*
 * Random allocs, runs and frees (fixed seed), mirrored in a shadow array:
 * no page is handed out twice, only added pages come out, frees of what
 * was handed out succeed, and the counts match the shadow after every step.
 */
static void test_random_against_shadow(void **state)
{
	enum { N = 3000 };
	struct fixture *fx = make(state, 0x1000, 0x1000 + N * F);
	char *ram = calloc(N, 1), *used = calloc(N, 1); /* indexed by page - 1 */
	assert_non_null(ram);
	assert_non_null(used);
	srand(1);
	/* A map of random ranges, some reserved again afterwards. */
	for (int r = 0; r < 60; r++) {
		uint64_t base = 0x1000 + (uint64_t)(rand() % N) * F + (uint64_t)(rand() % 3) * 0x400;
		uint64_t size = (uint64_t)(rand() % 80) * F + (uint64_t)(rand() % 3) * 0x400;
		pmem_add_free(&fx->fa, base, size);
	}
	for (int r = 0; r < 10; r++)
		pmem_reserve(&fx->fa, 0x1000 + (uint64_t)(rand() % N) * F, (uint64_t)(rand() % 20) * F);
	for (uint64_t i = 0; i < N; i++)
		ram[i] = (char)pmem_is_free(&fx->fa, 0x1000 + i * F);
	uint64_t nused = 0;
	for (int step = 0; step < 100000; step++) {
		int op = rand() % 10;
		if (op < 5) {
			uint64_t a = pmem_alloc(&fx->fa);
			if (a == 0) {
				assert_int_equal(fx->fa.free, 0);
				continue;
			}
			uint64_t i = (a - 0x1000) / F;
			assert_true(a % F == 0 && i < N);
			assert_true(ram[i]);
			assert_false(used[i]);
			used[i] = 1;
			nused++;
		} else if (op < 6) {
			uint64_t n = 1 + (uint64_t)(rand() % 8);
			uint64_t a = pmem_alloc_run(&fx->fa, n);
			if (a == 0)
				continue;
			uint64_t i = (a - 0x1000) / F;
			assert_true(a % F == 0 && i + n <= N);
			for (uint64_t j = i; j < i + n; j++) {
				assert_true(ram[j]);
				assert_false(used[j]);
				used[j] = 1;
			}
			nused += n;
		} else {
			/* Frees of RAM pages only: freeing a hole is a caller error
			 * the bitmap cannot tell from freeing an allocated page. */
			uint64_t i = (uint64_t)(rand() % N);
			if (!ram[i])
				continue;
			int rc = pmem_free(&fx->fa, 0x1000 + i * F);
			if (used[i]) {
				assert_int_equal(rc, 0);
				used[i] = 0;
				nused--;
			} else {
				assert_int_equal(rc, -1); /* already free */
			}
		}
		assert_int_equal(fx->fa.managed - fx->fa.free, nused);
		if (step % 1000 == 0)
			check_counts(&fx->fa);
	}
	check_counts(&fx->fa);
	free(ram);
	free(used);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_bytes),
		cmocka_unit_test_teardown(test_init_all_in_use, teardown),
		cmocka_unit_test_teardown(test_add_free_unaligned, teardown),
		cmocka_unit_test_teardown(test_add_free_overlapping, teardown),
		cmocka_unit_test_teardown(test_add_free_clipped, teardown),
		cmocka_unit_test_teardown(test_reserve_unaligned, teardown),
		cmocka_unit_test_teardown(test_reserve_to_top, teardown),
		cmocka_unit_test_teardown(test_page_zero_never_handed_out, teardown),
		cmocka_unit_test_teardown(test_alloc_until_exhausted, teardown),
		cmocka_unit_test_teardown(test_free_errors, teardown),
		cmocka_unit_test_teardown(test_fragmented_map, teardown),
		cmocka_unit_test_teardown(test_ram_above_4g, teardown),
		cmocka_unit_test_teardown(test_alloc_run_across_words, teardown),
		cmocka_unit_test_teardown(test_alloc_run_not_across_empty_word, teardown),
		cmocka_unit_test_teardown(test_alloc_run_fragmented, teardown),
		cmocka_unit_test_teardown(test_alloc_run_partial_last_word, teardown),
		cmocka_unit_test_teardown(test_random_against_shadow, teardown),
	};
	return unit_run("page", tests);
}
