/*
 * acpi.h: the ACPI tables the firmware leaves us, read but never trusted.
 *
 * acpi.c is pure (unit-tested on the host): it walks RSDP -> XSDT (RSDT
 * when there is no good XSDT) through a caller's mapping function, checks
 * every checksum, and pulls out what the kernel uses: the FADT's power
 * and reset registers, SLP_TYPa/b of the DSDT's \_S5_ package (a bounded
 * byte scan, not an AML interpreter) and the MCFG's ECAM windows for PCI.
 * A table with a bad checksum is listed as bad and none of its fields are
 * used. The kernel's side (mapping the tables, parsing once at boot) is
 * acpi_init() in efi.c.
 */
#ifndef MORESTACK_ACPI_H
#define MORESTACK_ACPI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every table starts with this (ACPI 6.5, 5.2.6). */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure (ACPI 6.5, 5.2.3.2). */
struct acpi_gas {
	uint8_t space; /* ACPI_SPACE_* */
	uint8_t bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_SPACE_MEMORY 0
#define ACPI_SPACE_IO 1
#define ACPI_SPACE_PCI 2

#define ACPI_TABLES_MAX 48
#define ACPI_MCFG_MAX 8
#define ACPI_TABLE_MAX_BYTES (16u << 20) /* a larger "length" is taken as garbage */

enum acpi_table_state {
	ACPI_TABLE_OK,
	ACPI_TABLE_BAD_CHECKSUM,
	ACPI_TABLE_UNREADABLE, /* the mapping function refused it (address or length) */
	ACPI_TABLE_BAD_LENGTH,
};

struct acpi_table {
	char signature[5], oem_id[7];
	uint64_t phys;
	uint32_t length;
	uint8_t revision;
	uint8_t state;  /* enum acpi_table_state */
	bool from_fadt; /* the DSDT and FACS are pointed at by the FADT, not the XSDT */
};

struct acpi_mcfg {
	uint64_t base; /* ECAM window of bus 0 of the segment (even if bus_start > 0) */
	uint16_t segment;
	uint8_t bus_start, bus_end;
};

/* The _S5_ scan's result. */
enum acpi_s5_state { ACPI_S5_FOUND = 0, ACPI_S5_MISSING = -1, ACPI_S5_MALFORMED = -2 };

struct acpi_info {
	/* The root pointer and the root table. */
	bool rsdp_ok;           /* signature and checksum(s) good */
	uint64_t rsdp_phys;
	uint8_t rsdp_revision;  /* 0: ACPI 1.0 (RSDT only); 2: ACPI 2.0+ */
	char rsdp_oem[7];
	bool root_is_xsdt;      /* false: the RSDT (32-bit pointers) was used */
	uint64_t root_phys;
	char problem[120];      /* the first thing that was wrong, "" if none */

	int count;              /* tables listed (beyond ACPI_TABLES_MAX: dropped, counted) */
	int dropped;
	int bad;                /* tables with a bad checksum, length or address */
	struct acpi_table tables[ACPI_TABLES_MAX];

	/* FADT ("FACP"), if present with a good checksum. */
	bool fadt_ok;
	uint8_t fadt_revision;
	uint64_t dsdt_phys;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint16_t sci_int;
	uint16_t iapc_boot_arch; /* bit 1: an 8042 keyboard controller exists */
	uint32_t fadt_flags;     /* bit 10: RESET_REG is supported */
	struct acpi_gas pm1a_cnt, pm1b_cnt; /* address 0: absent */
	struct acpi_gas reset_reg;
	uint8_t reset_value;

	/* \_S5_ from the DSDT (s5 is enum acpi_s5_state). */
	int s5;
	uint8_t slp_typa, slp_typb;

	/* MCFG: PCI Express ECAM windows. */
	int mcfg_count;
	struct acpi_mcfg mcfg[ACPI_MCFG_MAX];
};

#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_BOOT_ARCH_8042 (1u << 1)

/* Returns a readable pointer to [phys, phys+len), or NULL if it cannot. */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t phys, uint64_t len);

/* Fills *info from the RSDP at rsdp_phys (0: none). Never trusts a length or
 * pointer beyond what map accepts; returns the number of tables listed, or -1
 * with info->problem set when there is no usable root. */
int acpi_parse(struct acpi_info *info, uint64_t rsdp_phys, acpi_map_fn map, void *ctx);

/* Sum of n bytes modulo 256: 0 for a good table. */
uint8_t acpi_sum(const void *p, size_t n);

/* Finds \_S5_'s package in AML and its first two integers (SLP_TYPa, SLP_TYPb). */
int acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa, uint8_t *slp_typb);

/* The FADT's and MCFG's fields (the table's checksum already checked). */
void acpi_parse_fadt(struct acpi_info *info, const uint8_t *fadt, uint32_t len);
int acpi_parse_mcfg(struct acpi_info *info, const uint8_t *mcfg, uint32_t len);

/* The table listed with this signature and a good checksum, or NULL. */
const struct acpi_table *acpi_find(const struct acpi_info *info, const char *signature);

/* Kernel side (efi.c): parses the tables once at boot (prints one line);
 * acpi() returns that parse (never NULL; rsdp_ok false when there is none). */
void acpi_init(void);
const struct acpi_info *acpi(void);
const void *acpi_map_phys(void *ctx, uint64_t phys, uint64_t len);
#endif
