/*
 * pci.h: PCI configuration space and the devices found at boot (pci.c).
 *
 * Configuration space is read through ECAM (the MCFG's memory window,
 * mapped uncached at ECAM_VIRT) when the firmware describes one, else
 * through the legacy ports 0xcf8/0xcfc (the first 256 bytes only).
 * pci_init enumerates every bus reachable from bus 0 through bridges, all
 * functions of multifunction devices, once, at boot; drivers then find
 * their device by class (or IDs) and read its BARs:
 *
 *     const struct pci_dev *x = pci_find_class(0x0c, 0x03, 0x30, NULL); // xHCI
 *     struct pci_bar bar;
 *     if (x && pci_bar(x, 0, &bar) == 0 && !bar.io)
 *             ... map [bar.base, bar.base + bar.size) uncached ...
 *     pci_enable(x, PCI_CMD_MEMORY | PCI_CMD_BUS_MASTER);
 */
#ifndef MORESTACK_PCI_H
#define MORESTACK_PCI_H
#include <stdbool.h>
#include <stdint.h>

struct pci_dev {
	uint16_t segment;
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class, subclass, prog_if, revision;
	uint8_t header_type; /* bits 6-0: 0 device, 1 PCI-to-PCI bridge, 2 CardBus bridge */
};

/* Configuration space offsets and bits that drivers need (PCI LB 3.0, 6.1). */
#define PCI_COMMAND 0x04
#define PCI_CMD_IO (1u << 0)
#define PCI_CMD_MEMORY (1u << 1)
#define PCI_CMD_BUS_MASTER (1u << 2)
#define PCI_CMD_INTX_DISABLE (1u << 10)
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INTERRUPT_LINE 0x3c

#define PCI_DEVICES_MAX 256

/* How configuration space is reached. */
enum pci_access { PCI_NONE, PCI_ECAM, PCI_PORTS };

void pci_init(void); /* after acpi_init; prints one line */
enum pci_access pci_access(void);
const char *pci_access_describe(char *buf, unsigned long cap);

int pci_count(void);
const struct pci_dev *pci_device(int i);
/* The next device after `after` (NULL: the first) of this class; subclass
 * and prog_if -1 match any. */
const struct pci_dev *pci_find_class(int class, int subclass, int prog_if,
				     const struct pci_dev *after);
const struct pci_dev *pci_find_id(uint16_t vendor, uint16_t device, const struct pci_dev *after);

/* Configuration space of any function (only segment 0 is reachable);
 * off is aligned to the access size. A missing function reads all ones. */
uint32_t pci_read32(const struct pci_dev *d, uint16_t off);
uint16_t pci_read16(const struct pci_dev *d, uint16_t off);
uint8_t pci_read8(const struct pci_dev *d, uint16_t off);
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v);

/* A decoded base address register. */
struct pci_bar {
	uint64_t base;     /* bus address (physical, for memory BARs); 0 if unassigned */
	uint64_t size;     /* bytes decoded; 0: the BAR is not implemented */
	bool io;           /* an I/O port range */
	bool is64;         /* a 64-bit memory BAR: it also uses BAR index+1 */
	bool prefetchable;
};

/* Decodes BAR `index` (0-5 for a device, 0-1 for a bridge), sizing it by
 * writing all ones with decoding turned off for the moment. Returns 0, or
 * -1 if index is out of range or is the upper half of a 64-bit BAR. */
int pci_bar(const struct pci_dev *d, int index, struct pci_bar *bar);
/* Sets these PCI_CMD_* bits in the command register (e.g. bus mastering). */
void pci_enable(const struct pci_dev *d, uint16_t command_bits);
/* A capability's offset in configuration space, 0 if none. */
#define PCI_CAP_PM 0x01
#define PCI_CAP_MSI 0x05
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_EXPRESS 0x10
#define PCI_CAP_MSIX 0x11
uint8_t pci_find_capability(const struct pci_dev *d, uint8_t id);
/* Walks the capability list: pos 0 gives the first, then pass the last
 * one back; 0 at the end. *guard (set by the first call) stops a loop. */
uint8_t pci_next_capability(const struct pci_dev *d, uint8_t pos, int *guard);

/* "USB controller (xHCI)", "Host bridge", ...: from the class codes. */
const char *pci_class_name(uint8_t class, uint8_t subclass, uint8_t prog_if);
#endif
