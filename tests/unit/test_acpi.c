/*
 * test_acpi.c: the ACPI table walker and the \_S5_ scan (kernel/acpi.c).
 *
 * The DSDTs in tests/unit/data are QEMU's own (q35 and pc, as OVMF
 * installs them), saved from a booted guest with QMP's pmemsave at the
 * address `sysinfo acpi` printed. The binaries run from the top of the
 * tree (tests/unit/run.sh), where those paths are relative to.
 *
 * The walker tests build a small "physical memory" (RSDP, XSDT, RSDT, FADT,
 * the real DSDT, MCFG, APIC) in a malloc'd buffer; the mapping function
 * refuses anything outside it, so AddressSanitizer and the refusals both
 * catch a read past a table.
 */
#define _GNU_SOURCE /* memmem */
#include "unit.h"

#include "acpi.h"

/* ---- a fake physical memory ---- */

#define MEM_BASE 0x7f000000ULL
#define MEM_SIZE 0x10000
#define RSDP_AT 0x0100
#define XSDT_AT 0x1000
#define RSDT_AT 0x1800
#define FADT_AT 0x2000
#define MCFG_AT 0x2400
#define APIC_AT 0x2800
#define DSDT_AT 0x4000

static uint8_t *mem;
static int refusals;

static const void *map(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx;
	if (phys < MEM_BASE || len > MEM_SIZE || phys - MEM_BASE > MEM_SIZE - len) {
		refusals++;
		return NULL;
	}
	return mem + (phys - MEM_BASE);
}

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the top of the tree)", path);
	static uint8_t buf[65536];
	*len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	uint8_t *copy = malloc(*len); /* exactly its size, so ASan sees a read past it */
	assert_non_null(copy);
	memcpy(copy, buf, *len);
	return copy;
}

static void fix_checksum(uint8_t *table, uint32_t len, int checksum_at)
{
	table[checksum_at] = 0;
	table[checksum_at] = (uint8_t)(0x100 - acpi_sum(table, len));
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memset(t, 0, len);
	memcpy(t, sig, 4);
	memcpy(t + 4, &len, 4);
	t[8] = rev;
	memcpy(t + 10, "MSTK  ", 6);
}

/* Builds RSDP rev 2 -> XSDT (and RSDT) -> FADT, MCFG, APIC; FADT -> the q35 DSDT. */
static int setup(void **state)
{
	(void)state;
	mem = calloc(1, MEM_SIZE);
	assert_non_null(mem);
	refusals = 0;
	size_t dlen;
	uint8_t *dsdt = load("tests/unit/data/dsdt-q35.aml", &dlen);
	memcpy(mem + DSDT_AT, dsdt, dlen);
	free(dsdt);

	uint8_t *f = mem + FADT_AT;
	header(f, "FACP", 244, 3);
	uint32_t v = (uint32_t)(MEM_BASE + DSDT_AT);
	memcpy(f + 40, &v, 4);
	v = 0x604;
	memcpy(f + 64, &v, 4); /* PM1a_CNT_BLK */
	f[89] = 2;             /* PM1_CNT_LEN */
	f[109] = 2;            /* IAPC_BOOT_ARCH: 8042 */
	v = 1u << 10;
	memcpy(f + 112, &v, 4); /* RESET_REG_SUP */
	f[116] = 1;             /* RESET_REG: I/O, 8 bits, port 0xcf9 */
	f[117] = 8;
	uint64_t port = 0xcf9;
	memcpy(f + 120, &port, 8);
	f[128] = 0x0f;
	fix_checksum(f, 244, 9);

	uint8_t *m = mem + MCFG_AT;
	header(m, "MCFG", 60, 1);
	uint64_t ecam = 0xb0000000;
	memcpy(m + 44, &ecam, 8);
	m[54] = 0;   /* bus start */
	m[55] = 255; /* bus end */
	fix_checksum(m, 60, 9);

	uint8_t *a = mem + APIC_AT;
	header(a, "APIC", 44, 1);
	fix_checksum(a, 44, 9);

	uint64_t entries[3] = { MEM_BASE + FADT_AT, MEM_BASE + MCFG_AT, MEM_BASE + APIC_AT };
	uint8_t *x = mem + XSDT_AT;
	header(x, "XSDT", 36 + 24, 1);
	memcpy(x + 36, entries, 24);
	fix_checksum(x, 60, 9);
	uint8_t *r = mem + RSDT_AT;
	header(r, "RSDT", 36 + 12, 1);
	for (int i = 0; i < 3; i++) {
		uint32_t e = (uint32_t)entries[i];
		memcpy(r + 36 + 4 * i, &e, 4);
	}
	fix_checksum(r, 48, 9);

	uint8_t *p = mem + RSDP_AT;
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "MSTK  ", 6);
	p[15] = 2;
	uint32_t rsdt = (uint32_t)(MEM_BASE + RSDT_AT), len = 36;
	memcpy(p + 16, &rsdt, 4);
	memcpy(p + 20, &len, 4);
	uint64_t xsdt = MEM_BASE + XSDT_AT;
	memcpy(p + 24, &xsdt, 8);
	fix_checksum(p, 20, 8);
	fix_checksum(p, 36, 32);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(mem);
	mem = NULL;
	return 0;
}

static struct acpi_info info;

static void test_sum(void **state)
{
	(void)state;
	uint8_t b[4] = { 0x10, 0x20, 0xf0, 0xe0 };
	assert_int_equal(acpi_sum(b, 4), 0x00);
	b[3] = 0xe1;
	assert_int_equal(acpi_sum(b, 4), 0x01);
	assert_int_equal(acpi_sum(b, 0), 0);
}

static void test_real_dsdts_s5(void **state)
{
	(void)state;
	static const char *const files[] = { "tests/unit/data/dsdt-q35.aml",
					     "tests/unit/data/dsdt-pc.aml" };
	for (int i = 0; i < 2; i++) {
		size_t len;
		uint8_t *d = load(files[i], &len);
		assert_true(len > 36);
		assert_memory_equal(d, "DSDT", 4);
		assert_int_equal(acpi_sum(d, len), 0); /* the dump is whole */
		uint8_t a = 9, b = 9;
		assert_int_equal(acpi_find_s5(d + 36, len - 36, &a, &b), ACPI_S5_FOUND);
		assert_int_equal(a, 0); /* QEMU: S5 is SLP_TYP 0 on PIIX4 and ICH9 */
		assert_int_equal(b, 0);
		/* The same bytes with the package's integers changed (Zero -> One,
		 * Zero -> Ones is out of range): the scan reads them, not a default. */
		uint8_t *s5 = memmem(d, len, "\x08_S5_\x12", 6);
		assert_non_null(s5);
		s5[8] = 0x01; /* first element: NameOp _S5_ PackageOp PkgLength NumElements [here] */
		assert_int_equal(acpi_find_s5(d + 36, len - 36, &a, &b), ACPI_S5_FOUND);
		assert_int_equal(a, 1);
		assert_int_equal(b, 0);
		s5[9] = 0xff;
		assert_int_equal(acpi_find_s5(d + 36, len - 36, &a, &b), ACPI_S5_MALFORMED);
		/* Cut just inside the package: the scan stops at the end it was given. */
		size_t cut = (size_t)(s5 - d) + 9 - 36;
		uint8_t *tail = malloc(cut);
		memcpy(tail, d + 36, cut);
		assert_int_equal(acpi_find_s5(tail, cut, &a, &b), ACPI_S5_MALFORMED);
		free(tail);
		free(d);
	}
}

/* Runs the scan on exactly these bytes, in a buffer of their size. */
static int scan(const char *bytes, size_t n, uint8_t *a, uint8_t *b)
{
	uint8_t *buf = malloc(n);
	memcpy(buf, bytes, n);
	int r = acpi_find_s5(buf, n, a, b);
	free(buf);
	return r;
}

static void test_s5_encodings(void **state)
{
	(void)state;
	uint8_t a = 0, b = 0;
	/* BytePrefix values, root prefix '\' (as many firmware write it). */
	assert_int_equal(scan("\x08\\_S5_\x12\x08\x04\x0a\x05\x0a\x07\x00\x00", 15, &a, &b), 0);
	assert_int_equal(a, 5);
	assert_int_equal(b, 7);
	/* WordPrefix and DWordPrefix. */
	assert_int_equal(scan("\x08_S5_\x12\x0a\x02\x0b\x06\x00\x0c\x03\x00\x00\x00", 16, &a, &b), 0);
	assert_int_equal(a, 6);
	assert_int_equal(b, 3);
	/* One element: SLP_TYPa in the low byte, SLP_TYPb in the next. */
	assert_int_equal(scan("\x08_S5_\x12\x05\x01\x0b\x07\x05", 11, &a, &b), 0);
	assert_int_equal(a, 7);
	assert_int_equal(b, 5);
	/* A two-byte PkgLength (0x40 | low nibble, then the rest). */
	assert_int_equal(scan("\x08_S5_\x12\x47\x00\x04\x01\x00\x00\x00", 13, &a, &b), 0);
	assert_int_equal(a, 1);
	/* "_S5_" in a string, not after NameOp: not the object. */
	assert_int_equal(scan("\x0d_S5_\x00", 6, &a, &b), ACPI_S5_MISSING);
	assert_int_equal(scan("", 0, &a, &b), ACPI_S5_MISSING);
	/* A name with no package, a package longer than the bytes, a method. */
	assert_int_equal(scan("\x08_S5_\x0a\x05", 7, &a, &b), ACPI_S5_MALFORMED);
	assert_int_equal(scan("\x08_S5_\x12\x3f\x02\x00\x00", 10, &a, &b), ACPI_S5_MALFORMED);
	assert_int_equal(scan("\x08_S5_\x12\x06\x02\x0a", 9, &a, &b), ACPI_S5_MALFORMED);
	assert_int_equal(scan("\x08_S5_\x12\x03\x02\x55\x00", 9, &a, &b), ACPI_S5_MALFORMED);
	/* A malformed decoy first, the real one after it. */
	assert_int_equal(scan("\x08_S5_\x0a\x05" "\x08_S5_\x12\x04\x02\x01\x01", 17, &a, &b), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 1);
}

static void test_walk(void **state)
{
	(void)state;
	assert_int_equal(acpi_parse(&info, MEM_BASE + RSDP_AT, map, NULL), 5);
	assert_true(info.rsdp_ok);
	assert_true(info.root_is_xsdt);
	assert_string_equal(info.rsdp_oem, "MSTK");
	assert_int_equal(info.bad, 0);
	assert_string_equal(info.problem, "");
	assert_string_equal(info.tables[0].signature, "XSDT");
	assert_string_equal(info.tables[1].signature, "FACP");
	assert_string_equal(info.tables[2].signature, "MCFG");
	assert_string_equal(info.tables[3].signature, "APIC");
	assert_string_equal(info.tables[4].signature, "DSDT");
	assert_string_equal(info.tables[4].oem_id, "BOCHS");
	assert_true(info.tables[4].from_fadt);
	assert_int_equal(info.tables[4].length, 8328);
	assert_true(info.fadt_ok);
	assert_int_equal(info.pm1a_cnt.space, ACPI_SPACE_IO);
	assert_int_equal(info.pm1a_cnt.address, 0x604);
	assert_int_equal(info.pm1b_cnt.address, 0);
	assert_int_equal(info.reset_reg.address, 0xcf9);
	assert_int_equal(info.reset_value, 0x0f);
	assert_true(info.fadt_flags & ACPI_FADT_RESET_REG_SUP);
	assert_true(info.iapc_boot_arch & ACPI_BOOT_ARCH_8042);
	assert_int_equal(info.s5, ACPI_S5_FOUND);
	assert_int_equal(info.mcfg_count, 1);
	assert_int_equal(info.mcfg[0].base, 0xb0000000);
	assert_int_equal(info.mcfg[0].bus_end, 255);
	assert_non_null(acpi_find(&info, "MCFG"));
	assert_null(acpi_find(&info, "HPET"));
	assert_int_equal(refusals, 0);
}

/* A table with a bad checksum is listed as bad and none of it is used. */
static void test_bad_checksum_not_trusted(void **state)
{
	(void)state;
	mem[MCFG_AT + 44] ^= 0x10; /* the ECAM base changes; the checksum does not */
	assert_int_equal(acpi_parse(&info, MEM_BASE + RSDP_AT, map, NULL), 5);
	assert_int_equal(info.bad, 1);
	assert_int_equal(info.tables[2].state, ACPI_TABLE_BAD_CHECKSUM);
	assert_int_equal(info.mcfg_count, 0);
	assert_null(acpi_find(&info, "MCFG"));
	mem[FADT_AT + 64] ^= 1; /* a bad FADT: no power registers, no DSDT */
	acpi_parse(&info, MEM_BASE + RSDP_AT, map, NULL);
	assert_false(info.fadt_ok);
	assert_int_equal(info.pm1a_cnt.address, 0);
	assert_int_equal(info.s5, ACPI_S5_MISSING);
	assert_int_equal(info.bad, 2);
}

/* A bad XSDT is reported and the RSDT used; a bad RSDP stops everything. */
static void test_root_fallbacks(void **state)
{
	(void)state;
	mem[XSDT_AT + 40] ^= 1;
	assert_true(acpi_parse(&info, MEM_BASE + RSDP_AT, map, NULL) > 0);
	assert_false(info.root_is_xsdt);
	assert_int_equal(info.root_phys, MEM_BASE + RSDT_AT);
	assert_non_null(strstr(info.problem, "XSDT"));
	assert_true(info.fadt_ok);
	assert_int_equal(info.mcfg_count, 1);
	mem[RSDP_AT + 16] ^= 1; /* the RSDP's first checksum */
	assert_int_equal(acpi_parse(&info, MEM_BASE + RSDP_AT, map, NULL), -1);
	assert_false(info.rsdp_ok);
	assert_non_null(strstr(info.problem, "checksum"));
	assert_int_equal(acpi_parse(&info, 0, map, NULL), -1);
	assert_int_equal(acpi_parse(&info, MEM_BASE + RSDP_AT + 1, map, NULL), -1);
}

/* Lengths and pointers beyond what can be mapped are refused, not followed. */
static void test_bad_lengths_and_pointers(void **state)
{
	(void)state;
	uint32_t huge = 0xfff0;
	memcpy(mem + APIC_AT + 4, &huge, 4); /* runs past the end of "memory" */
	uint32_t tiny = 8;
	memcpy(mem + MCFG_AT + 4, &tiny, 4); /* shorter than a header */
	uint64_t wild = 0x123456789000ULL;
	memcpy(mem + XSDT_AT + 36, &wild, 8); /* the FADT pointer, now pointing nowhere */
	fix_checksum(mem + XSDT_AT, 60, 9);
	assert_int_equal(acpi_parse(&info, MEM_BASE + RSDP_AT, map, NULL), 4);
	assert_int_equal(info.tables[1].state, ACPI_TABLE_UNREADABLE);
	assert_int_equal(info.tables[2].state, ACPI_TABLE_BAD_LENGTH);
	assert_int_equal(info.tables[3].state, ACPI_TABLE_UNREADABLE);
	assert_int_equal(info.bad, 3);
	assert_false(info.fadt_ok);
	assert_true(refusals >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_real_dsdts_s5),
		cmocka_unit_test(test_s5_encodings),
		cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_checksum_not_trusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_fallbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lengths_and_pointers, setup, teardown),
	};
	return unit_run("acpi", tests);
}
