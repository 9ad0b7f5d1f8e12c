/*
 * pci.c: PCI configuration space (ECAM from the MCFG, else ports
 * 0xcf8/0xcfc) and the enumeration of every device at boot (see pci.h).
 *
 * Invariants:
 *   - ECAM is used only for segment 0 and the buses the MCFG entry covers,
 *     mapped once at ECAM_VIRT uncached (PCD|PWT: PAT entry 3, UC) and
 *     no-execute; a function outside it (or outside the ports' reach:
 *     offsets >= 256) reads all ones and ignores writes, like a missing one;
 *   - ECAM is trusted only after it agrees with the ports on 00:00.0's IDs
 *     (firmware has been known to describe windows that are not decoded);
 *   - enumeration visits each bus at most once (a bitmap), so a bridge
 *     whose secondary bus points back cannot loop; the device table never
 *     holds more than PCI_DEVICES_MAX entries (the rest are counted);
 *   - BAR sizing turns decoding off around the all-ones write, so the
 *     device never answers at the bogus address meanwhile.
 * The port pair is one shared register: callers run with interrupts off
 * or from the one shell task (no PCI access happens in interrupt handlers).
 */
#include "acpi.h"
#include "kernel.h"
#include "pci.h"
#include "x86.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static inline uint32_t inl_port(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw_port(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static struct {
	enum pci_access access;
	uint64_t ecam_phys;       /* the MCFG's base (bus 0 of segment 0) */
	uint8_t bus_start, bus_end;
	char why[80];             /* why ECAM is not used, if it is not */
	int count, dropped;
	struct pci_dev devs[PCI_DEVICES_MAX];
	uint64_t visited[4];      /* buses scanned */
} pci;

/* ---- configuration space access ---- */

static volatile uint8_t *ecam_addr(const struct pci_dev *d, uint16_t off)
{
	if (pci.access != PCI_ECAM || d->segment != 0 || d->bus < pci.bus_start ||
	    d->bus > pci.bus_end || off >= 4096)
		return NULL;
	return (volatile uint8_t *)(ECAM_VIRT + ((uint64_t)d->bus << 20) + ((uint64_t)d->dev << 15) +
				    ((uint64_t)d->fn << 12) + off);
}

static bool port_select(const struct pci_dev *d, uint16_t off)
{
	if (d->segment != 0 || off >= 256 || d->dev > 31 || d->fn > 7)
		return false;
	outl(PCI_ADDR, 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)d->dev << 11 |
			       (uint32_t)d->fn << 8 | (off & 0xfc));
	return true;
}

uint32_t pci_read32(const struct pci_dev *d, uint16_t off)
{
	volatile uint8_t *p = ecam_addr(d, off & ~3);
	if (p)
		return *(volatile uint32_t *)p;
	if (pci.access == PCI_ECAM || !port_select(d, off))
		return ~0u;
	return inl_port(PCI_DATA);
}

uint16_t pci_read16(const struct pci_dev *d, uint16_t off)
{
	volatile uint8_t *p = ecam_addr(d, off & ~1);
	if (p)
		return *(volatile uint16_t *)p;
	if (pci.access == PCI_ECAM || !port_select(d, off))
		return 0xffff;
	return inw_port((uint16_t)(PCI_DATA + (off & 2)));
}

uint8_t pci_read8(const struct pci_dev *d, uint16_t off)
{
	volatile uint8_t *p = ecam_addr(d, off);
	if (p)
		return *p;
	if (pci.access == PCI_ECAM || !port_select(d, off))
		return 0xff;
	return inb((uint16_t)(PCI_DATA + (off & 3)));
}

void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
	volatile uint8_t *p = ecam_addr(d, off & ~3);
	if (p)
		*(volatile uint32_t *)p = v;
	else if (pci.access != PCI_ECAM && port_select(d, off))
		outl(PCI_DATA, v);
}

void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	volatile uint8_t *p = ecam_addr(d, off & ~1);
	if (p)
		*(volatile uint16_t *)p = v;
	else if (pci.access != PCI_ECAM && port_select(d, off))
		outw((uint16_t)(PCI_DATA + (off & 2)), v);
}

void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v)
{
	volatile uint8_t *p = ecam_addr(d, off);
	if (p)
		*p = v;
	else if (pci.access != PCI_ECAM && port_select(d, off))
		outb((uint16_t)(PCI_DATA + (off & 3)), v);
}

/* ---- BARs, command register, capabilities ---- */

int pci_bar(const struct pci_dev *d, int index, struct pci_bar *bar)
{
	int max = (d->header_type & 0x7f) == 0 ? 6 : (d->header_type & 0x7f) == 1 ? 2 : 0;
	*bar = (struct pci_bar){ 0 };
	if (index < 0 || index >= max)
		return -1;
	/* Walk from BAR 0: a 64-bit memory BAR takes the next slot as its upper half. */
	for (int i = 0; i < index; i++) {
		uint32_t v = pci_read32(d, (uint16_t)(PCI_BAR0 + 4 * i));
		if (!(v & 1) && ((v >> 1) & 3) == 2 && ++i == index)
			return -1;
	}
	uint16_t off = (uint16_t)(PCI_BAR0 + 4 * index);
	bool was_on = read_rflags() & (1u << 9); /* nothing may touch the device meanwhile */
	cli();
	/* Writes still in write-combining buffers (the framebuffer's) must reach
	 * the device before it stops decoding, or they are lost. */
	__asm__ volatile("sfence" ::: "memory");
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEMORY));
	uint32_t lo = pci_read32(d, off);
	pci_write32(d, off, ~0u);
	uint32_t lo_mask = pci_read32(d, off);
	pci_write32(d, off, lo);
	if (lo & 1) {
		bar->io = true;
		bar->base = lo & ~3u;
		uint32_t m = lo_mask & ~3u;
		if (m & 0xffff) {
			if (!(m & 0xffff0000u)) /* 16-bit decoders read the top half back as 0 */
				m |= 0xffff0000u;
			bar->size = ~m + 1;
		}
	} else {
		bar->prefetchable = lo & 8;
		bar->is64 = ((lo >> 1) & 3) == 2 && index + 1 < max;
		uint64_t base = lo & ~15u, mask = lo_mask & ~15u;
		if (bar->is64) {
			uint16_t hoff = (uint16_t)(off + 4);
			uint32_t hi = pci_read32(d, hoff);
			pci_write32(d, hoff, ~0u);
			uint32_t hi_mask = pci_read32(d, hoff);
			pci_write32(d, hoff, hi);
			base |= (uint64_t)hi << 32;
			mask |= (uint64_t)hi_mask << 32;
			bar->size = mask ? ~mask + 1 : 0;
		} else {
			bar->size = mask ? (uint32_t)(~(uint32_t)mask + 1) : 0;
		}
		bar->base = base;
	}
	pci_write16(d, PCI_COMMAND, cmd);
	if (was_on)
		sti();
	return 0;
}

void pci_enable(const struct pci_dev *d, uint16_t command_bits)
{
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | command_bits);
}

uint8_t pci_next_capability(const struct pci_dev *d, uint8_t pos, int *guard)
{
	if (pos == 0) {
		if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
			return 0;
		*guard = 0;
		pos = pci_read8(d, PCI_CAP_PTR) & 0xfc;
	} else {
		pos = pci_read8(d, (uint16_t)(pos + 1)) & 0xfc;
	}
	/* 48 capabilities fill the 192 bytes above the header: a longer chain loops. */
	return pos >= 0x40 && ++*guard <= 48 ? pos : 0;
}

uint8_t pci_find_capability(const struct pci_dev *d, uint8_t id)
{
	int guard;
	for (uint8_t p = pci_next_capability(d, 0, &guard); p; p = pci_next_capability(d, p, &guard))
		if (pci_read8(d, p) == id)
			return p;
	return 0;
}

/* ---- enumeration ---- */

static void scan_bus(uint8_t bus);

static void add_function(uint8_t bus, uint8_t dev, uint8_t fn)
{
	struct pci_dev d = { .bus = bus, .dev = dev, .fn = fn };
	uint32_t id = pci_read32(&d, 0x00);
	if ((id & 0xffff) == 0xffff)
		return;
	uint32_t class = pci_read32(&d, 0x08);
	d.vendor = (uint16_t)id;
	d.device = (uint16_t)(id >> 16);
	d.revision = (uint8_t)class;
	d.prog_if = (uint8_t)(class >> 8);
	d.subclass = (uint8_t)(class >> 16);
	d.class = (uint8_t)(class >> 24);
	d.header_type = pci_read8(&d, 0x0e);
	if (pci.count < PCI_DEVICES_MAX)
		pci.devs[pci.count++] = d;
	else
		pci.dropped++;
	if ((d.header_type & 0x7f) == 1) /* a PCI-to-PCI bridge: its secondary bus */
		scan_bus(pci_read8(&d, 0x19));
}

static void scan_bus(uint8_t bus)
{
	if (pci.visited[bus / 64] & (1ULL << (bus % 64)))
		return;
	pci.visited[bus / 64] |= 1ULL << (bus % 64);
	for (uint8_t dev = 0; dev < 32; dev++) {
		struct pci_dev d = { .bus = bus, .dev = dev };
		if (pci_read16(&d, 0x00) == 0xffff)
			continue;
		int fns = pci_read8(&d, 0x0e) & 0x80 ? 8 : 1;
		for (uint8_t fn = 0; fn < fns; fn++)
			add_function(bus, dev, fn);
	}
}

/* Maps the MCFG's window for segment 0 and checks that it decodes. */
static bool ecam_setup(void)
{
	const struct acpi_info *a = acpi();
	const struct acpi_mcfg *m = NULL;
	for (int i = 0; i < a->mcfg_count && !m; i++)
		if (a->mcfg[i].segment == 0)
			m = &a->mcfg[i];
	if (!m) {
		ksnprintf(pci.why, sizeof pci.why, a->mcfg_count ? "the MCFG has no segment 0"
								 : "no MCFG table");
		return false;
	}
	uint64_t lo = m->base + ((uint64_t)m->bus_start << 20);
	uint64_t size = (uint64_t)(m->bus_end - m->bus_start + 1) << 20;
	int err = pt_map(&kernel_pt_env, vm_root(), ECAM_VIRT + ((uint64_t)m->bus_start << 20), lo,
			 size, PTE_W | PTE_NX | PTE_PCD | PTE_PWT, PT_MAP_LARGE);
	if (err) {
		ksnprintf(pci.why, sizeof pci.why, "mapping the MCFG window failed (error %d)", err);
		return false;
	}
	pci.ecam_phys = m->base;
	pci.bus_start = m->bus_start;
	pci.bus_end = m->bus_end;
	struct pci_dev host = { 0 };
	pci.access = PCI_PORTS;
	uint32_t by_ports = pci_read32(&host, 0);
	pci.access = PCI_ECAM;
	uint32_t by_ecam = pci_read32(&host, 0);
	if (m->bus_start == 0 && by_ecam != by_ports && by_ports != ~0u) {
		ksnprintf(pci.why, sizeof pci.why,
			  "the MCFG window reads 00:00.0 as %08x, the ports as %08x", by_ecam, by_ports);
		pt_unmap(&kernel_pt_env, vm_root(), ECAM_VIRT + ((uint64_t)m->bus_start << 20), size);
		write_cr3(read_cr3());
		return false;
	}
	return true;
}

void pci_init(void)
{
	if (!ecam_setup()) {
		pci.access = PCI_PORTS;
		struct pci_dev host = { 0 };
		if (pci_read32(&host, 0) == ~0u) {
			pci.access = PCI_NONE;
			kprintf("pci: no configuration space: %s, and ports 0xcf8/0xcfc read nothing\n",
				pci.why);
			return;
		}
	}
	uint64_t t0 = rdtsc();
	scan_bus(0);
	/* A multifunction host bridge at 00:00: function N is the host bridge of bus N. */
	struct pci_dev host = { 0 };
	if (pci_read8(&host, 0x0e) & 0x80)
		for (uint8_t fn = 1; fn < 8; fn++) {
			host.fn = fn;
			if (pci_read16(&host, 0) != 0xffff)
				scan_bus(fn);
		}
	char how[120];
	kprintf("pci: %d functions found in %lu us, %s%s\n", pci.count, tsc_to_us(rdtsc() - t0),
		pci_access_describe(how, sizeof how), pci.dropped ? " (table full: some dropped)" : "");
}

enum pci_access pci_access(void) { return pci.access; }

const char *pci_access_describe(char *buf, unsigned long cap)
{
	if (pci.access == PCI_ECAM)
		ksnprintf(buf, cap, "ECAM at %#lx (buses %u-%u, from the MCFG)", pci.ecam_phys,
			  pci.bus_start, pci.bus_end);
	else if (pci.access == PCI_PORTS)
		ksnprintf(buf, cap, "legacy ports 0xcf8/0xcfc (%s)", pci.why);
	else
		ksnprintf(buf, cap, "none (%s)", pci.why);
	return buf;
}

int pci_count(void) { return pci.count; }

const struct pci_dev *pci_device(int i)
{
	return i >= 0 && i < pci.count ? &pci.devs[i] : NULL;
}

static int index_after(const struct pci_dev *after)
{
	return after ? (int)(after - pci.devs) + 1 : 0;
}

const struct pci_dev *pci_find_class(int class, int subclass, int prog_if,
				     const struct pci_dev *after)
{
	for (int i = index_after(after); i < pci.count; i++) {
		const struct pci_dev *d = &pci.devs[i];
		if (d->class == class && (subclass < 0 || d->subclass == subclass) &&
		    (prog_if < 0 || d->prog_if == prog_if))
			return d;
	}
	return NULL;
}

const struct pci_dev *pci_find_id(uint16_t vendor, uint16_t device, const struct pci_dev *after)
{
	for (int i = index_after(after); i < pci.count; i++)
		if (pci.devs[i].vendor == vendor && pci.devs[i].device == device)
			return &pci.devs[i];
	return NULL;
}

/* ---- names (PCI Code and ID Assignment spec 1.15) ---- */

struct class_name {
	uint8_t class, subclass; /* subclass 0xff with prog_if 0xff: any */
	int16_t prog_if;         /* -1: any */
	const char *name;
};

static const struct class_name class_names[] = {
	{ 0x00, 0xff, -1, "Unclassified device" },
	{ 0x01, 0x00, -1, "SCSI controller" },
	{ 0x01, 0x01, -1, "IDE controller" },
	{ 0x01, 0x05, -1, "ATA controller" },
	{ 0x01, 0x06, 0x01, "SATA controller (AHCI)" },
	{ 0x01, 0x06, -1, "SATA controller" },
	{ 0x01, 0x07, -1, "SAS controller" },
	{ 0x01, 0x08, 0x02, "NVMe controller" },
	{ 0x01, 0x08, -1, "Non-volatile memory controller" },
	{ 0x01, 0xff, -1, "Mass storage controller" },
	{ 0x02, 0x00, -1, "Ethernet controller" },
	{ 0x02, 0x80, -1, "Network controller" },
	{ 0x02, 0xff, -1, "Network controller" },
	{ 0x03, 0x00, 0x00, "VGA compatible controller" },
	{ 0x03, 0x02, -1, "3D controller" },
	{ 0x03, 0xff, -1, "Display controller" },
	{ 0x04, 0x01, -1, "Audio device" },
	{ 0x04, 0x03, -1, "Audio device (HD Audio)" },
	{ 0x04, 0xff, -1, "Multimedia controller" },
	{ 0x05, 0xff, -1, "Memory controller" },
	{ 0x06, 0x00, -1, "Host bridge" },
	{ 0x06, 0x01, -1, "ISA bridge" },
	{ 0x06, 0x04, -1, "PCI bridge" },
	{ 0x06, 0x09, -1, "PCI bridge (semi-transparent)" },
	{ 0x06, 0x80, -1, "Bridge" },
	{ 0x06, 0xff, -1, "Bridge" },
	{ 0x07, 0x00, -1, "Serial controller" },
	{ 0x07, 0xff, -1, "Communication controller" },
	{ 0x08, 0xff, -1, "System peripheral" },
	{ 0x09, 0x00, -1, "Keyboard controller" },
	{ 0x09, 0xff, -1, "Input device controller" },
	{ 0x0c, 0x03, 0x00, "USB controller (UHCI)" },
	{ 0x0c, 0x03, 0x10, "USB controller (OHCI)" },
	{ 0x0c, 0x03, 0x20, "USB controller (EHCI)" },
	{ 0x0c, 0x03, 0x30, "USB controller (xHCI)" },
	{ 0x0c, 0x03, -1, "USB controller" },
	{ 0x0c, 0x05, -1, "SMBus" },
	{ 0x0c, 0xff, -1, "Serial bus controller" },
	{ 0x0d, 0xff, -1, "Wireless controller" },
	{ 0x10, 0xff, -1, "Encryption controller" },
	{ 0x11, 0xff, -1, "Signal processing controller" },
	{ 0x12, 0xff, -1, "Processing accelerator" },
	{ 0xff, 0xff, -1, "Unassigned class" },
};

const char *pci_class_name(uint8_t class, uint8_t subclass, uint8_t prog_if)
{
	for (unsigned i = 0; i < sizeof class_names / sizeof class_names[0]; i++) {
		const struct class_name *c = &class_names[i];
		if (c->class == class && (c->subclass == 0xff || c->subclass == subclass) &&
		    (c->prog_if < 0 || c->prog_if == prog_if))
			return c->name;
	}
	return "Unknown class";
}
