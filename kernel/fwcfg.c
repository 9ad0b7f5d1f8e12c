/*
 * fwcfg.c: QEMU's firmware configuration device (docs/specs/fw_cfg.txt in
 * QEMU): a selector port 0x510 and a data port 0x511. The test harness
 * passes flags as files with -fw_cfg name=opt/morestack/NAME,string=1.
 * We only touch the ports under a hypervisor (CPUID.1:ECX bit 31), never on
 * real hardware, where those ports may belong to something else.
 */
#include "kernel.h"
#include "x86.h"

#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_FILE_DIR 0x0019

static void fw_read(uint16_t sel, void *buf, uint32_t n)
{
	outw(FW_CFG_SEL, sel);
	for (uint32_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = inb(FW_CFG_DATA);
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

bool fwcfg_present(void)
{
	static int cached = -1;
	if (cached >= 0)
		return cached;
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	cached = 0;
	if (c & (1U << 31)) {
		char sig[4];
		fw_read(FW_CFG_SIGNATURE, sig, 4);
		cached = memcmp(sig, "QEMU", 4) == 0;
	}
	return cached;
}

/* True if QEMU was given the file opt/morestack/<name> with content "1". */
bool fwcfg_flag(const char *name)
{
	if (!fwcfg_present())
		return false;
	uint8_t hdr[4];
	fw_read(FW_CFG_FILE_DIR, hdr, 4);
	uint32_t count = be32(hdr);
	char want[56];
	ksnprintf(want, sizeof want, "opt/morestack/%s", name);
	for (uint32_t i = 0; i < count && i < 4096; i++) {
		uint8_t entry[64]; /* size (be32), select (be16), reserved, name[56] */
		for (int k = 0; k < 64; k++)
			entry[k] = inb(FW_CFG_DATA);
		entry[63] = '\0';
		if (strcmp((const char *)entry + 8, want) == 0) {
			uint16_t sel = (uint16_t)(entry[4] << 8 | entry[5]);
			char value = 0;
			if (be32(entry) >= 1)
				fw_read(sel, &value, 1);
			return value == '1';
		}
	}
	return false;
}

static int testing = -1;

/* Reads the harness's flags once, at boot, so fault paths only test a variable. */
bool under_test(void)
{
	if (testing < 0)
		testing = fwcfg_flag("exit-on-fault");
	return testing;
}

void qemu_exit_if_testing(int code)
{
	if (testing > 0)
		outb(0xf4, (uint8_t)code); /* isa-debug-exit: QEMU exits with (code << 1) | 1 */
}
