/*
 * acpi.c: walks and checks the firmware's ACPI tables (pure; the kernel maps
 * them for it, see acpi.h and efi.c's acpi_init).
 *
 * Invariants:
 *   - every byte read lies inside a range the map function returned for a
 *     length read from a checked header, and a table's own length bounds
 *     every field read from it (an ACPI 1.0 FADT is 116 bytes: its X_
 *     fields are absent, not garbage);
 *   - a table is used only if its checksum is good; a bad one is listed as
 *     bad (and counted), never decoded;
 *   - the _S5_ scan reads only aml[0, len): each step checks the bytes it
 *     needs are there, so a truncated or hostile DSDT ends the scan, not
 *     the kernel.
 */
#include "acpi.h"
#include "format.h"
#include "kstring.h"

#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36

uint8_t acpi_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void copy_name(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[n] = '\0';
	while (n > 0 && dst[n - 1] == ' ') /* OEM ids are padded with spaces */
		dst[--n] = '\0';
}

static void problem(struct acpi_info *info, const char *what)
{
	if (!info->problem[0])
		ksnprintf(info->problem, sizeof info->problem, "%s", what);
}

const struct acpi_table *acpi_find(const struct acpi_info *info, const char *signature)
{
	for (int i = 0; i < info->count; i++)
		if (info->tables[i].state == ACPI_TABLE_OK &&
		    memcmp(info->tables[i].signature, signature, 4) == 0)
			return &info->tables[i];
	return NULL;
}

/*
 * One AML integer (ACPI 6.5, 20.2.3): ZeroOp, OneOp, OnesOp, or a Byte/Word/
 * DWord/QWord prefix and its little-endian value. Returns the bytes used,
 * 0 if aml[*] is not an integer or runs past end.
 */
static size_t aml_integer(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	if (p >= end)
		return 0;
	size_t n;
	switch (*p) {
	case 0x00: *v = 0; return 1;
	case 0x01: *v = 1; return 1;
	case 0xff: *v = ~0ULL; return 1;
	case 0x0a: n = 1; break;
	case 0x0b: n = 2; break;
	case 0x0c: n = 4; break;
	case 0x0e: n = 8; break;
	default: return 0;
	}
	if ((size_t)(end - p) < 1 + n)
		return 0;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return 1 + n;
}

/*
 * PkgLength (ACPI 6.5, 20.2.4): bits 7-6 of the lead byte say how many
 * bytes follow (0-3); with none, bits 5-0 are the length, else bits 3-0
 * are its low nibble and each following byte adds 8 more bits.
 * Returns the bytes used, 0 if malformed or truncated.
 */
static size_t aml_pkglength(const uint8_t *p, const uint8_t *end, uint32_t *len)
{
	if (p >= end)
		return 0;
	size_t follow = p[0] >> 6;
	if ((size_t)(end - p) < 1 + follow)
		return 0;
	if (follow == 0) {
		*len = p[0] & 0x3f;
		return 1;
	}
	if (p[0] & 0x30)
		return 0; /* bits 5-4 must be zero when bytes follow */
	*len = p[0] & 0x0f;
	for (size_t i = 0; i < follow; i++)
		*len |= (uint32_t)p[1 + i] << (4 + 8 * i);
	return 1 + follow;
}

/*
 * Looks for NameOp (0x08), an optional root prefix '\', "_S5_", then
 * PackageOp (0x12) PkgLength NumElements and the first two integers, all
 * inside aml[0, len) and inside the package's own length. A name that is
 * not followed by a well-formed package is remembered as malformed and the
 * scan goes on (the bytes "_S5_" can appear elsewhere, e.g. in a string).
 * A one-element package holds SLP_TYPa in its low byte and SLP_TYPb in the
 * next (what ACPICA accepts from old firmware).
 */
int acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa, uint8_t *slp_typb)
{
	const uint8_t *end = aml + len;
	int result = ACPI_S5_MISSING;
	for (size_t i = 1; i + 4 <= len; i++) {
		if (memcmp(aml + i, "_S5_", 4) != 0)
			continue;
		bool named = aml[i - 1] == 0x08 || (i >= 2 && aml[i - 1] == '\\' && aml[i - 2] == 0x08);
		if (!named)
			continue;
		result = ACPI_S5_MALFORMED;
		const uint8_t *p = aml + i + 4;
		if (p >= end || *p != 0x12)
			continue;
		const uint8_t *pkg = ++p;
		uint32_t pkglen;
		size_t n = aml_pkglength(p, end, &pkglen);
		if (!n || pkglen > (size_t)(end - pkg) || pkglen < n + 1)
			continue;
		const uint8_t *pkg_end = pkg + pkglen;
		p += n;
		uint8_t elements = *p++;
		uint64_t a, b = 0;
		if (elements < 1 || !(n = aml_integer(p, pkg_end, &a)))
			continue;
		p += n;
		if (elements >= 2) {
			if (!aml_integer(p, pkg_end, &b))
				continue;
		} else {
			b = (a >> 8) & 0xff;
			a &= 0xff;
		}
		if (a > 7 || b > 7) /* SLP_TYP is a 3-bit field of PM1x_CNT */
			continue;
		*slp_typa = (uint8_t)a;
		*slp_typb = (uint8_t)b;
		return ACPI_S5_FOUND;
	}
	return result;
}

/* A FADT GAS field at off, if the table is long enough to hold it. */
static bool fadt_gas(const uint8_t *f, uint32_t len, uint32_t off, struct acpi_gas *g)
{
	if (len < off + sizeof *g)
		return false;
	memcpy(g, f + off, sizeof *g);
	return g->address != 0;
}

/* An I/O port block given by an ACPI 1.0 32-bit field. */
static void io_block(struct acpi_gas *g, uint32_t port, uint8_t bits)
{
	memset(g, 0, sizeof *g);
	if (!port)
		return;
	g->space = ACPI_SPACE_IO;
	g->bit_width = bits;
	g->address = port;
}

/* FADT (ACPI 6.5, 5.2.9): field offsets from the start of the table. */
void acpi_parse_fadt(struct acpi_info *info, const uint8_t *f, uint32_t len)
{
	if (len < 116) {
		problem(info, "the FADT is shorter than ACPI 1.0's 116 bytes");
		return;
	}
	info->fadt_ok = true;
	info->fadt_revision = f[8];
	info->dsdt_phys = rd32(f + 40);
	info->sci_int = rd16(f + 46);
	info->smi_cmd = rd32(f + 48);
	info->acpi_enable = f[52];
	uint8_t cnt_len = f[89];
	io_block(&info->pm1a_cnt, rd32(f + 64), (uint8_t)(cnt_len * 8));
	io_block(&info->pm1b_cnt, rd32(f + 68), (uint8_t)(cnt_len * 8));
	info->iapc_boot_arch = rd16(f + 109);
	info->fadt_flags = rd32(f + 112);
	if (len >= 129) {
		memcpy(&info->reset_reg, f + 116, sizeof info->reset_reg);
		info->reset_value = f[128];
	}
	/* ACPI 2.0+: 64-bit fields win when present and nonzero. */
	if (len >= 148 && rd64(f + 140))
		info->dsdt_phys = rd64(f + 140);
	struct acpi_gas g;
	if (fadt_gas(f, len, 172, &g))
		info->pm1a_cnt = g;
	if (fadt_gas(f, len, 184, &g))
		info->pm1b_cnt = g;
}

/* MCFG (PCI Firmware spec 3.2, 4.1.2): 8 reserved bytes, then 16-byte entries. */
int acpi_parse_mcfg(struct acpi_info *info, const uint8_t *m, uint32_t len)
{
	for (uint32_t off = 44; off + 16 <= len && info->mcfg_count < ACPI_MCFG_MAX; off += 16) {
		struct acpi_mcfg *e = &info->mcfg[info->mcfg_count];
		e->base = rd64(m + off);
		e->segment = rd16(m + off + 8);
		e->bus_start = m[off + 10];
		e->bus_end = m[off + 11];
		if (e->bus_end < e->bus_start || !e->base) {
			problem(info, "the MCFG has an entry with no base or an empty bus range");
			continue;
		}
		info->mcfg_count++;
	}
	return info->mcfg_count;
}

/* Lists the table at phys: maps its header, then all of it, checks its checksum. */
static const uint8_t *add_table(struct acpi_info *info, uint64_t phys, bool from_fadt,
				acpi_map_fn map, void *ctx)
{
	if (info->count >= ACPI_TABLES_MAX) {
		info->dropped++;
		return NULL;
	}
	struct acpi_table *t = &info->tables[info->count++];
	memset(t, 0, sizeof *t);
	t->phys = phys;
	t->from_fadt = from_fadt;
	const struct acpi_header *h = map(ctx, phys, sizeof *h);
	if (!h) {
		memcpy(t->signature, "????", 5);
		t->state = ACPI_TABLE_UNREADABLE;
		info->bad++;
		return NULL;
	}
	copy_name(t->signature, h->signature, 4);
	copy_name(t->oem_id, h->oem_id, 6);
	t->length = h->length;
	t->revision = h->revision;
	if (h->length < sizeof *h || h->length > ACPI_TABLE_MAX_BYTES) {
		t->state = ACPI_TABLE_BAD_LENGTH;
		info->bad++;
		return NULL;
	}
	const uint8_t *all = map(ctx, phys, h->length);
	if (!all) {
		t->state = ACPI_TABLE_UNREADABLE;
		info->bad++;
		return NULL;
	}
	if (acpi_sum(all, h->length) != 0) {
		t->state = ACPI_TABLE_BAD_CHECKSUM;
		info->bad++;
		return NULL;
	}
	return all;
}

/* Walks the root table's entries (4 bytes each in the RSDT, 8 in the XSDT). */
static void walk_root(struct acpi_info *info, const uint8_t *root, uint32_t len, bool xsdt,
		      acpi_map_fn map, void *ctx)
{
	uint32_t step = xsdt ? 8 : 4;
	for (uint32_t off = sizeof(struct acpi_header); off + step <= len; off += step) {
		uint64_t phys = xsdt ? rd64(root + off) : rd32(root + off);
		if (!phys)
			continue;
		const uint8_t *t = add_table(info, phys, false, map, ctx);
		if (!t)
			continue;
		uint32_t tlen = rd32(t + 4);
		if (memcmp(t, "FACP", 4) == 0 && !info->fadt_ok)
			acpi_parse_fadt(info, t, tlen);
		else if (memcmp(t, "MCFG", 4) == 0 && !info->mcfg_count)
			acpi_parse_mcfg(info, t, tlen);
	}
}

int acpi_parse(struct acpi_info *info, uint64_t rsdp_phys, acpi_map_fn map, void *ctx)
{
	memset(info, 0, sizeof *info);
	info->rsdp_phys = rsdp_phys;
	info->s5 = ACPI_S5_MISSING;
	if (!rsdp_phys) {
		problem(info, "the firmware gave no RSDP");
		return -1;
	}
	const uint8_t *r = map(ctx, rsdp_phys, RSDP_V1_LEN);
	if (!r || memcmp(r, "RSD PTR ", 8) != 0) {
		problem(info, "no \"RSD PTR \" signature at the RSDP address");
		return -1;
	}
	if (acpi_sum(r, RSDP_V1_LEN) != 0) {
		problem(info, "the RSDP's checksum (first 20 bytes) is bad");
		return -1;
	}
	info->rsdp_revision = r[15];
	copy_name(info->rsdp_oem, (const char *)r + 9, 6);
	uint64_t rsdt = rd32(r + 16), xsdt = 0;
	if (info->rsdp_revision >= 2) {
		const uint8_t *r2 = map(ctx, rsdp_phys, RSDP_V2_LEN);
		if (r2 && rd32(r2 + 20) >= RSDP_V2_LEN && acpi_sum(r2, RSDP_V2_LEN) == 0)
			xsdt = rd64(r2 + 24);
		else
			problem(info, "the ACPI 2.0 RSDP's extended checksum is bad: XSDT not used");
	}
	info->rsdp_ok = true;

	/* The XSDT if it is good, else the RSDT. */
	for (int pass = 0; pass < 2; pass++) {
		bool use_xsdt = pass == 0;
		uint64_t phys = use_xsdt ? xsdt : rsdt;
		if (!phys)
			continue;
		const uint8_t *root = add_table(info, phys, false, map, ctx);
		if (!root || memcmp(root, use_xsdt ? "XSDT" : "RSDT", 4) != 0) {
			char what[100];
			ksnprintf(what, sizeof what, "the %s at %#lx is unusable (%s)",
				  use_xsdt ? "XSDT" : "RSDT", phys,
				  !root ? "bad checksum, length or address" : "wrong signature");
			problem(info, what); /* it stays listed, as bad; the RSDT is next */
			continue;
		}
		info->root_is_xsdt = use_xsdt;
		info->root_phys = phys;
		walk_root(info, root, rd32(root + 4), use_xsdt, map, ctx);
		break;
	}
	if (!info->root_phys) {
		problem(info, "neither an XSDT nor an RSDT is usable");
		return -1;
	}

	/* The DSDT hangs off the FADT; its AML holds \_S5_. */
	if (info->fadt_ok && info->dsdt_phys) {
		const uint8_t *d = add_table(info, info->dsdt_phys, true, map, ctx);
		if (d && memcmp(d, "DSDT", 4) == 0) {
			uint32_t dlen = rd32(d + 4);
			info->s5 = acpi_find_s5(d + sizeof(struct acpi_header),
						dlen - sizeof(struct acpi_header), &info->slp_typa,
						&info->slp_typb);
		} else if (d) {
			problem(info, "the FADT's DSDT pointer does not point at a DSDT");
		}
	}
	return info->count;
}
