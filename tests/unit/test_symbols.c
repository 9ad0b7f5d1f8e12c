/*
 * test_symbols.c: the ELF symbolizer (lib/symbols.c).
 *
 * It reads three kinds of ELF file: this test binary itself (linked
 * -no-pie, so &function is the symbol's value in the file), the real
 * kernel (build/kernel.sym.elf), and small files built here symbol by
 * symbol, which are then damaged on purpose. Every file sits in a buffer
 * malloc'd at exactly its size, so AddressSanitizer sees any read past it.
 */
#include "unit.h"

#include "elf.h"
#include "symbols.h"

#ifndef KERNEL_SYM_ELF
#define KERNEL_SYM_ELF "build/kernel.sym.elf"
#endif

#define SHT_STRTAB 3
#define STT_NOTYPE 0
#define STT_SECTION 3
#define STT_FILE 4
#define STB_GLOBAL 1

int main(void); /* looked up too */

/* A function to look up: big enough that an address inside it is not its start. */
static __attribute__((noinline)) int unit_marker_function(volatile int x)
{
	int sum = 0;
	for (int i = 0; i < x; i++)
		sum += i * x ^ (sum >> 3);
	return sum;
}

struct file {
	uint8_t *data;
	size_t size;
};

/* Reads a whole file into a buffer of exactly its size; size 0 if unreadable. */
static struct file read_file(const char *path)
{
	struct file f = { NULL, 0 };
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return f;
	size_t cap = 1 << 20, n = 0, got;
	uint8_t *buf = malloc(cap);
	while (buf && (got = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += got;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(fp);
	f.data = malloc(n ? n : 1);
	if (!buf || !f.data) {
		fprintf(stderr, "read_file(%s): out of memory\n", path);
		exit(1);
	}
	memcpy(f.data, buf, n);
	f.size = n;
	free(buf);
	return f;
}

/* Storage for up to n symbols, freed by the teardown. */
static struct symbol *storage;

static struct symbol *make_storage(size_t n)
{
	free(storage);
	storage = malloc((n ? n : 1) * sizeof *storage);
	assert_non_null(storage);
	return storage;
}

static struct file self, kernel;

static int teardown(void **state)
{
	(void)state;
	free(storage);
	storage = NULL;
	return 0;
}

/* Symbols in address order, names inside the file and terminated there. */
static void check_table(const struct symtab *st, const struct file *f)
{
	for (size_t i = 0; i < st->count; i++) {
		const struct symbol *s = &st->syms[i];
		if (i)
			assert_true(st->syms[i - 1].addr <= s->addr);
		assert_true(s->addr != 0);
		const uint8_t *name = (const uint8_t *)s->name;
		assert_true(name > f->data && name < f->data + f->size);
		size_t room = (size_t)(f->data + f->size - name);
		assert_true(strnlen(s->name, room) < room);
	}
}

/* ---- ELF files built here ---- */

struct spec {
	const char *name; /* NULL: name offset 0 */
	uint64_t value, size;
	int type;
};

struct built {
	struct file f;
	size_t shoff, symoff, stroff, strsize;
};

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/*
 * An ELF64 file: header, .strtab, .symtab (a null symbol, then specs in
 * order), and the section headers [null, .symtab, .strtab].
 */
static struct built build(const struct spec *specs, int n)
{
	struct built b;
	b.strsize = 1;
	for (int i = 0; i < n; i++)
		if (specs[i].name)
			b.strsize += strlen(specs[i].name) + 1;
	b.stroff = sizeof(struct elf64_ehdr);
	b.symoff = align8(b.stroff + b.strsize);
	size_t symsize = (size_t)(n + 1) * sizeof(struct elf64_sym);
	b.shoff = align8(b.symoff + symsize);
	b.f.size = b.shoff + 3 * sizeof(struct elf64_shdr);
	b.f.data = calloc(1, b.f.size);
	assert_non_null(b.f.data);

	struct elf64_ehdr *eh = (void *)b.f.data;
	memcpy(eh->ident, "\x7f" "ELF", 4);
	eh->ident[4] = ELFCLASS64;
	eh->ident[5] = 1; /* little endian */
	eh->ident[6] = 1;
	eh->type = 2;
	eh->machine = EM_X86_64;
	eh->version = 1;
	eh->shoff = b.shoff;
	eh->ehsize = sizeof *eh;
	eh->shentsize = sizeof(struct elf64_shdr);
	eh->shnum = 3;

	char *str = (char *)b.f.data + b.stroff;
	struct elf64_sym *sym = (void *)(b.f.data + b.symoff);
	size_t at = 1;
	for (int i = 0; i < n; i++) {
		struct elf64_sym *s = &sym[i + 1];
		if (specs[i].name) {
			strcpy(str + at, specs[i].name);
			s->name = (uint32_t)at;
			at += strlen(specs[i].name) + 1;
		}
		s->info = (uint8_t)(STB_GLOBAL << 4 | specs[i].type);
		s->shndx = 1;
		s->value = specs[i].value;
		s->size = specs[i].size;
	}
	struct elf64_shdr *sh = (void *)(b.f.data + b.shoff);
	sh[1] = (struct elf64_shdr){ .type = SHT_SYMTAB, .offset = b.symoff, .size = symsize,
				     .link = 2, .info = 1, .addralign = 8,
				     .entsize = sizeof(struct elf64_sym) };
	sh[2] = (struct elf64_shdr){ .type = SHT_STRTAB, .offset = b.stroff, .size = b.strsize,
				     .addralign = 1 };
	return b;
}

static struct elf64_ehdr *ehdr(struct built *b)
{
	return (void *)b->f.data;
}

static struct elf64_shdr *shdr(struct built *b, int i)
{
	return (struct elf64_shdr *)(b->f.data + b->shoff) + i;
}

static const struct spec sample[] = {
	{ "zeta", 0x5000, 0x100, STT_FUNC },
	{ "alpha", 0x1000, 0x20, STT_FUNC },
	{ "table", 0x3000, 0x40, STT_OBJECT },
	{ "entry", 0x2000, 0, STT_FUNC },   /* no size: runs to the next symbol */
	{ "beta", 0x1100, 0x10, STT_FUNC },
	{ "alias0", 0x4000, 0, STT_FUNC },  /* same address, no size... */
	{ "real", 0x4000, 0x80, STT_FUNC }, /* ...and this one has one */
	{ "alias1", 0x4000, 0, STT_OBJECT },
	{ "file.c", 0x6000, 0, STT_FILE },     /* not code or data: skipped */
	{ ".text", 0x1000, 0, STT_SECTION },
	{ "label", 0x1234, 0, STT_NOTYPE },
	{ "undefined", 0, 0, STT_FUNC },       /* value 0: skipped */
	{ NULL, 0x7000, 8, STT_FUNC },         /* no name: skipped */
};
#define NSAMPLE ((int)(sizeof sample / sizeof sample[0]))

/* ---- the test binary itself ---- */

static void test_self_lookup(void **state)
{
	(void)state;
	assert_true(self.size > 0);
	struct symtab st;
	assert_int_equal(symtab_load(&st, self.data, self.size, make_storage(1 << 16), 1 << 16), 0);
	assert_true(st.count > 20);
	assert_int_equal(st.dropped, 0);
	check_table(&st, &self);

	uint64_t fn = (uint64_t)(uintptr_t)unit_marker_function, off = 99;
	const struct symbol *s = symtab_lookup(&st, fn, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "unit_marker_function");
	assert_int_equal(off, 0);
	assert_int_equal(s->addr, fn);
	assert_true(s->size > 8);
	s = symtab_lookup(&st, fn + 5, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "unit_marker_function");
	assert_int_equal(off, 5);
	s = symtab_lookup(&st, fn + s->size - 1, &off);
	assert_non_null(s);
	assert_int_equal(off, s->size - 1);

	s = symtab_find(&st, "unit_marker_function");
	assert_non_null(s);
	assert_int_equal(s->addr, fn);
	s = symtab_find(&st, "main");
	assert_non_null(s);
	assert_int_equal(s->addr, (uint64_t)(uintptr_t)main);
	s = symtab_lookup(&st, (uint64_t)(uintptr_t)test_self_lookup + 3, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "test_self_lookup");
	/* Data symbols too. */
	s = symtab_lookup(&st, (uint64_t)(uintptr_t)&self + 8, &off);
	assert_non_null(s);
	assert_string_equal(s->name, "self");
	assert_int_equal(off, 8);
	assert_null(symtab_find(&st, "no_such_function_anywhere"));
	assert_null(symtab_lookup(&st, 0x10, &off));
	assert_int_equal(unit_marker_function(3), unit_marker_function(3));
}

/* Too little storage: the rest are counted as dropped, what was kept is sorted. */
static void test_self_small_capacity(void **state)
{
	(void)state;
	struct symtab all, few;
	assert_int_equal(symtab_load(&all, self.data, self.size, make_storage(1 << 16), 1 << 16), 0);
	size_t total = all.count;
	struct symbol *small = malloc(10 * sizeof *small);
	assert_non_null(small);
	int rc = symtab_load(&few, self.data, self.size, small, 10);
	assert_int_equal(rc, 0);
	assert_int_equal(few.count, 10);
	assert_int_equal(few.dropped, total - 10);
	check_table(&few, &self);
	free(small);
	/* No storage at all. */
	assert_int_equal(symtab_load(&few, self.data, self.size, NULL, 0), 0);
	assert_int_equal(few.count, 0);
	assert_int_equal(few.dropped, total);
	uint64_t off;
	assert_null(symtab_lookup(&few, (uint64_t)(uintptr_t)main, &off));
	assert_null(symtab_find(&few, "main"));
}

/* ---- the real kernel ---- */

static void test_kernel_symbols(void **state)
{
	(void)state;
	if (kernel.size == 0)
		fail_msg("cannot read %s: build the kernel first (`make` at the top of the "
			 "repository; `make unit-test` builds it too)",
			 KERNEL_SYM_ELF);
	struct symtab st;
	assert_int_equal(symtab_load(&st, kernel.data, kernel.size, make_storage(1 << 16), 1 << 16),
			 0);
	assert_int_equal(st.dropped, 0);
	check_table(&st, &kernel);
	static const char *const names[] = { "kmain", "trap", "panic", "kvsnprintf" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct symbol *s = symtab_find(&st, names[i]);
		if (!s)
			fail_msg("%s: no symbol %s", KERNEL_SYM_ELF, names[i]);
		assert_true(s->addr >= 0xffffffff80000000UL);
		assert_true(s->size > 0);
		uint64_t off;
		const struct symbol *t = symtab_lookup(&st, s->addr + s->size / 2, &off);
		assert_non_null(t);
		assert_string_equal(t->name, names[i]);
		assert_int_equal(off, s->size / 2);
	}
	uint64_t off;
	assert_null(symtab_lookup(&st, 0xffff800000000000UL, &off));
}

/* ---- built files ---- */

/* Sorting, sizes, size-0 symbols and shared addresses. */
static void test_built_lookup(void **state)
{
	(void)state;
	struct built b = build(sample, NSAMPLE);
	struct symtab st;
	assert_int_equal(symtab_load(&st, b.f.data, b.f.size, make_storage(32), 32), 0);
	assert_int_equal(st.count, 8); /* FILE, SECTION, NOTYPE, value 0 and no name skipped */
	assert_int_equal(st.dropped, 0);
	check_table(&st, &b.f);
	static const struct {
		uint64_t addr;
		const char *name; /* NULL: no symbol there */
		uint64_t off;
	} cases[] = {
		{ 0xfff, NULL, 0 },        { 0x1000, "alpha", 0 },    { 0x101f, "alpha", 0x1f },
		{ 0x1020, NULL, 0 },       { 0x10ff, NULL, 0 },       { 0x1100, "beta", 0 },
		{ 0x110f, "beta", 0xf },   { 0x1110, NULL, 0 },       { 0x2000, "entry", 0 },
		{ 0x2fff, "entry", 0xfff }, { 0x3000, "table", 0 },    { 0x303f, "table", 0x3f },
		{ 0x3040, NULL, 0 },       { 0x4000, "real", 0 },     { 0x407f, "real", 0x7f },
		{ 0x4080, NULL, 0 },       { 0x5000, "zeta", 0 },     { 0x50ff, "zeta", 0xff },
		{ 0x5100, NULL, 0 },       { 0x7000, NULL, 0 },       { ~0ULL, NULL, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t off = 12345;
		const struct symbol *s = symtab_lookup(&st, cases[i].addr, &off);
		if (!cases[i].name) {
			if (s)
				fail_msg("%#lx: expected no symbol, got %s", (unsigned long)cases[i].addr,
					 s->name);
			continue;
		}
		if (!s)
			fail_msg("%#lx: expected %s, got none", (unsigned long)cases[i].addr,
				 cases[i].name);
		assert_string_equal(s->name, cases[i].name);
		assert_int_equal(off, cases[i].off);
	}
	assert_int_equal(symtab_find(&st, "zeta")->addr, 0x5000);
	assert_int_equal(symtab_find(&st, "alias1")->addr, 0x4000);
	assert_null(symtab_find(&st, "file.c"));
	assert_null(symtab_find(&st, "label"));
	assert_null(symtab_find(&st, "undefined"));
	assert_null(symtab_find(&st, ""));
	free(b.f.data);
}

/* A size-0 symbol that is the last one covers its first byte only. */
static void test_built_last_symbol_without_size(void **state)
{
	(void)state;
	static const struct spec specs[] = { { "first", 0x1000, 0x10, STT_FUNC },
					     { "last", 0x2000, 0, STT_FUNC } };
	struct built b = build(specs, 2);
	struct symtab st;
	assert_int_equal(symtab_load(&st, b.f.data, b.f.size, make_storage(4), 4), 0);
	uint64_t off;
	assert_non_null(symtab_lookup(&st, 0x2000, &off));
	assert_int_equal(off, 0);
	assert_null(symtab_lookup(&st, 0x2001, &off));
	free(b.f.data);
}

/* Capacity below the symbol count: the first ones kept, sorted, the rest counted. */
static void test_built_small_capacity(void **state)
{
	(void)state;
	struct spec specs[40];
	char names[40][16];
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		specs[i] = (struct spec){ names[i], 0x100000 - (uint64_t)i * 0x100, 0x10, STT_FUNC };
	}
	struct built b = build(specs, 40);
	struct symtab st;
	struct symbol *s = make_storage(7);
	assert_int_equal(symtab_load(&st, b.f.data, b.f.size, s, 7), 0);
	assert_int_equal(st.count, 7);
	assert_int_equal(st.dropped, 33);
	check_table(&st, &b.f);
	for (int i = 0; i < 7; i++) /* f6 (lowest address) ... f0 */
		assert_string_equal(st.syms[i].name, names[6 - i]);
	uint64_t off;
	assert_null(symtab_lookup(&st, 0x100000 - 7 * 0x100, &off)); /* f7 was dropped */
	free(b.f.data);
}

/* A symbol table with no symbols worth keeping loads, empty. */
static void test_built_empty(void **state)
{
	(void)state;
	struct built b = build(NULL, 0);
	struct symtab st;
	assert_int_equal(symtab_load(&st, b.f.data, b.f.size, make_storage(4), 4), 0);
	assert_int_equal(st.count, 0);
	uint64_t off;
	assert_null(symtab_lookup(&st, 0x1000, &off));
	free(b.f.data);
}

/* Not ELF at all: random bytes of many sizes (fixed seed), and nothing. */
static void test_garbage(void **state)
{
	(void)state;
	struct symtab st;
	struct symbol *s = make_storage(16);
	assert_int_equal(symtab_load(&st, NULL, 0, s, 16), -1);
	assert_int_equal(st.count, 0);
	srand(1);
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)(rand() % 4096);
		uint8_t *buf = malloc(n ? n : 1);
		assert_non_null(buf);
		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)rand();
		assert_int_equal(symtab_load(&st, buf, n, s, 16), -1);
		assert_int_equal(st.count, 0);
		free(buf);
	}
}

/* Every length short of a whole ELF header is refused, even with the right magic. */
static void test_truncated_header(void **state)
{
	(void)state;
	struct symtab st;
	struct symbol *s = make_storage(16);
	for (size_t n = 0; n < sizeof(struct elf64_ehdr); n++) {
		uint8_t *buf = malloc(n ? n : 1);
		assert_non_null(buf);
		memcpy(buf, self.data, n);
		assert_int_equal(symtab_load(&st, buf, n, s, 16), -1);
		free(buf);
	}
	/* The header alone: its section table is past the end. */
	uint8_t *buf = malloc(sizeof(struct elf64_ehdr));
	assert_non_null(buf);
	memcpy(buf, self.data, sizeof(struct elf64_ehdr));
	assert_int_equal(symtab_load(&st, buf, sizeof(struct elf64_ehdr), s, 16), -1);
	free(buf);
	/* The test binary cut short anywhere before its section table. */
	const struct elf64_ehdr *eh = (const void *)self.data;
	for (size_t n = 64; n < eh->shoff; n += 4093) {
		buf = malloc(n);
		assert_non_null(buf);
		memcpy(buf, self.data, n);
		assert_int_equal(symtab_load(&st, buf, n, s, 16), -1);
		free(buf);
	}
}

/* Headers whose numbers point outside the file, or say it is not ELF64. */
static void test_bad_headers(void **state)
{
	(void)state;
	struct symtab st;
	struct symbol *s = make_storage(32);
	struct built b = build(sample, NSAMPLE);
	assert_int_equal(symtab_load(&st, b.f.data, b.f.size, s, 32), 0);
	struct elf64_ehdr saved = *ehdr(&b);
	struct elf64_shdr sym = *shdr(&b, 1), str = *shdr(&b, 2);
#define EXPECT_FAIL(what)                                                              \
	do {                                                                           \
		what;                                                                  \
		assert_int_equal(symtab_load(&st, b.f.data, b.f.size, s, 32), -1);     \
		assert_int_equal(st.count, 0);                                         \
		*ehdr(&b) = saved;                                                     \
		*shdr(&b, 1) = sym;                                                    \
		*shdr(&b, 2) = str;                                                    \
	} while (0)
	EXPECT_FAIL(ehdr(&b)->ident[0] = 0x7e);
	EXPECT_FAIL(ehdr(&b)->ident[4] = 1); /* ELFCLASS32 */
	EXPECT_FAIL(ehdr(&b)->shentsize = 40);
	EXPECT_FAIL(ehdr(&b)->shoff = b.f.size);
	EXPECT_FAIL(ehdr(&b)->shoff = b.f.size - 8);
	EXPECT_FAIL(ehdr(&b)->shoff = ~0ULL - 63);
	EXPECT_FAIL(ehdr(&b)->shoff = 1ULL << 63);
	EXPECT_FAIL(ehdr(&b)->shnum = 4);
	EXPECT_FAIL(ehdr(&b)->shnum = 0xffff);
	EXPECT_FAIL(ehdr(&b)->shnum = 0); /* no sections, so no symbol table */
	EXPECT_FAIL(shdr(&b, 1)->type = SHT_STRTAB); /* no symbol table */
	EXPECT_FAIL(shdr(&b, 1)->link = 3);          /* its strings: no such section */
	EXPECT_FAIL(shdr(&b, 1)->link = 0xffffffff);
	EXPECT_FAIL(shdr(&b, 1)->offset = b.f.size);
	EXPECT_FAIL(shdr(&b, 1)->offset = ~0ULL);
	EXPECT_FAIL(shdr(&b, 1)->size = b.f.size);
	EXPECT_FAIL(shdr(&b, 1)->size = ~0ULL);
	EXPECT_FAIL(shdr(&b, 2)->offset = b.f.size - 1);
	EXPECT_FAIL(shdr(&b, 2)->offset = ~0ULL - 4);
	EXPECT_FAIL(shdr(&b, 2)->size = b.f.size);
	EXPECT_FAIL(shdr(&b, 2)->size = 0);
	/* Unaligned tables: refused rather than read with misaligned loads. */
	EXPECT_FAIL(ehdr(&b)->shoff = b.shoff - 4);
	EXPECT_FAIL(shdr(&b, 1)->offset = b.symoff + 1);
#undef EXPECT_FAIL
	/* The whole file at an odd address. */
	uint8_t *odd = malloc(b.f.size + 1);
	assert_non_null(odd);
	memcpy(odd + 1, b.f.data, b.f.size);
	assert_int_equal(symtab_load(&st, odd + 1, b.f.size, s, 32), -1);
	free(odd);
	/* Restored, it loads again. */
	assert_int_equal(symtab_load(&st, b.f.data, b.f.size, s, 32), 0);
	assert_int_equal(st.count, 8);
	free(b.f.data);
}

/* A string table whose last byte is not NUL is refused, not read past. */
static void test_unterminated_strings(void **state)
{
	(void)state;
	struct symtab st;
	struct symbol *s = make_storage(32);
	struct built b = build(sample, NSAMPLE);
	/* The last name ends the table: drop its NUL by shrinking the table. */
	shdr(&b, 2)->size = b.strsize - 1;
	assert_int_equal(symtab_load(&st, b.f.data, b.f.size, s, 32), -1);
	shdr(&b, 2)->size = b.strsize;
	b.f.data[b.stroff + b.strsize - 1] = 'X';
	assert_int_equal(symtab_load(&st, b.f.data, b.f.size, s, 32), -1);
	free(b.f.data);

	/* A string table that is the very end of the file, unterminated. */
	static const struct spec one[] = { { "abc", 0x1000, 4, STT_FUNC } };
	b = build(one, 1);
	size_t size = b.f.size + 4;
	uint8_t *f = calloc(1, size);
	assert_non_null(f);
	memcpy(f, b.f.data, b.f.size);
	memcpy(f + b.f.size, "\0abc", 4);
	struct elf64_shdr *sh = (struct elf64_shdr *)(f + b.shoff);
	sh[2].offset = b.f.size;
	sh[2].size = 4;
	assert_int_equal(symtab_load(&st, f, size, s, 32), -1);
	f[size - 1] = '\0';
	assert_int_equal(symtab_load(&st, f, size, s, 32), 0); /* "ab" now */
	assert_int_equal(st.count, 1);
	assert_string_equal(st.syms[0].name, "ab");
	/* A name offset past the table's end: that symbol is skipped. */
	((struct elf64_sym *)(f + b.symoff))[1].name = 4;
	assert_int_equal(symtab_load(&st, f, size, s, 32), 0);
	assert_int_equal(st.count, 0);
	free(f);
	free(b.f.data);
}

/*
 * Mutation fuzzing (fixed seed): a built file and the test binary's own
 * header and section table, with random bytes changed. Whatever the
 * result, nothing is read outside the file and no UB happens (ASan,
 * UBSan); a table that loads is sorted with every name inside the file.
 */
static void test_mutations(void **state)
{
	(void)state;
	struct symtab st;
	struct symbol *s = make_storage(64);
	struct built b = build(sample, NSAMPLE);
	struct file m = { malloc(b.f.size), b.f.size };
	assert_non_null(m.data);
	srand(1);
	int loaded = 0;
	for (int i = 0; i < 30000; i++) {
		memcpy(m.data, b.f.data, m.size);
		int changes = 1 + rand() % 4;
		for (int k = 0; k < changes; k++) {
			size_t at;
			switch (rand() % 3) {
			case 0: /* the ELF header */
				at = (size_t)rand() % sizeof(struct elf64_ehdr);
				break;
			case 1: /* the section headers */
				at = b.shoff + (size_t)rand() % (3 * sizeof(struct elf64_shdr));
				break;
			default: /* anywhere */
				at = (size_t)rand() % m.size;
			}
			m.data[at] = rand() % 4 ? (uint8_t)rand() : (uint8_t)(m.data[at] ^ (1 << (rand() % 8)));
		}
		if (symtab_load(&st, m.data, m.size, s, 64) == 0) {
			loaded++;
			assert_true(st.count <= 64);
			check_table(&st, &m);
			uint64_t off;
			for (size_t k = 0; k < st.count; k++)
				assert_non_null(symtab_lookup(&st, st.syms[k].addr, &off));
		} else {
			assert_int_equal(st.count, 0);
		}
	}
	assert_true(loaded > 100); /* many mutations leave it readable */
	free(m.data);
	free(b.f.data);

	/* The test binary: only its header and section table change. */
	const struct elf64_ehdr *eh = (const void *)self.data;
	size_t sh_end = eh->shoff + (size_t)eh->shnum * sizeof(struct elf64_shdr);
	assert_true(sh_end <= self.size);
	m.size = self.size;
	m.data = malloc(m.size);
	assert_non_null(m.data);
	memcpy(m.data, self.data, m.size);
	s = make_storage(1 << 16);
	for (int i = 0; i < 300; i++) {
		size_t at = rand() % 2 ? (size_t)rand() % sizeof *eh
				       : eh->shoff + (size_t)rand() % (sh_end - eh->shoff);
		uint8_t old = m.data[at];
		m.data[at] = (uint8_t)rand();
		if (symtab_load(&st, m.data, m.size, s, 1 << 16) == 0)
			check_table(&st, &m);
		m.data[at] = old;
	}
	free(m.data);
}

int main(void)
{
	self = read_file("/proc/self/exe");
	kernel = read_file(KERNEL_SYM_ELF);
#define T(f) cmocka_unit_test_teardown(f, teardown)
	const struct CMUnitTest tests[] = {
		T(test_self_lookup),
		T(test_self_small_capacity),
		T(test_kernel_symbols),
		T(test_built_lookup),
		T(test_built_last_symbol_without_size),
		T(test_built_small_capacity),
		T(test_built_empty),
		T(test_garbage),
		T(test_truncated_header),
		T(test_bad_headers),
		T(test_unterminated_strings),
		T(test_mutations),
	};
	int failed = unit_run("symbols", tests);
	free(self.data);
	free(kernel.data);
	return failed;
}
