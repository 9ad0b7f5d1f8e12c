/*
 * usb.h: the USB host side (xhci.c): its controllers, ports and devices,
 * as the `usb` and `sysinfo` commands show them.
 */
#ifndef MORESTACK_USB_H
#define MORESTACK_USB_H
#include <stdbool.h>
#include <stdint.h>

#include "hid.h"
#include "pci.h"
#include "usbdesc.h"

#define USB_CONTROLLERS_MAX 4
#define USB_DEVICES_MAX 16
#define USB_PORTS_MAX 32
#define USB_REPORTS_KEPT 4

struct usb_device {
	bool used;
	uint8_t slot;            /* xHCI device slot */
	uint8_t speed;           /* port speed ID: 1 full, 2 low, 3 high, 4 super */
	uint8_t root_port;       /* root hub port, from 1 */
	uint8_t hub_port;        /* its port on the hub it hangs from; 0: a root port */
	uint8_t parent;          /* the hub's index in devices[] (if hub_port) */
	uint8_t depth;           /* hubs between it and the root port: 0 to 5 */
	uint8_t tt_slot, tt_port; /* the high-speed hub port whose transaction
				   * translator a low/full-speed device uses (0: none) */
	char path[20];           /* "5", "6.3", "6.1.2": root port, then hub ports */
	uint8_t address;         /* the USB address the controller gave it */
	uint32_t route;
	struct usb_device_desc desc;
	struct usb_config_desc config;
	bool have_desc, have_config;
	uint8_t raw_device[18];  /* the descriptors as received (usb -x) */
	uint8_t raw_config[128];
	uint8_t raw_hub[16];
	uint16_t raw_config_len, raw_hub_len;
	const char *role;        /* "keyboard", "hub", "boot mouse: ignored", ... */
	char error[96];          /* the step that failed, if one did */
	unsigned hub_ports;
	/* a keyboard */
	bool keyboard;
	uint8_t kbd_dci, kbd_iface;
	uint8_t kbd_len;         /* bytes a report TRB takes: the endpoint's packet, at most 64 */
	unsigned kbd_errors;     /* transfer events that were not success */
	bool kbd_halted;         /* its endpoint halted: usb_service restarts it */
	unsigned kbd_retries;    /* restarts since the last good report */
	struct hid_kbd kbd;
	uint8_t last[USB_REPORTS_KEPT][8]; /* the last reports, newest first */
	uint8_t last_len[USB_REPORTS_KEPT];
	unsigned kept;
	void *priv;              /* xhci.c's per-slot state */
};

struct usb_port {
	uint8_t number, major, minor; /* USB 2 or 3 (Supported Protocol capability) */
	uint32_t portsc;              /* as read at the last scan */
};

struct usb_controller {
	const struct pci_dev *pci;
	const char *kind;        /* "xHCI" */
	bool ready;              /* running, ports scanned */
	char error[128];         /* the step that failed and why */
	uint16_t version;        /* HCIVERSION */
	unsigned slots, ports, ctx_size, scratchpads;
	bool ac64;
	uint64_t mmio;           /* BAR 0, physical */
	uint32_t mmio_size;
	bool bios_owned;         /* the firmware had it (USB Legacy Support) */
	const char *handoff;     /* what the handoff did */
	bool intel_switched;     /* an Intel PCH's ports switched from EHCI (xhci.c) */
	uint32_t intel_usb2_routed, intel_usb3_enabled; /* XUSB2PR, USB3_PSSEN after it */
	struct usb_port port[USB_PORTS_MAX];
	struct usb_device dev[USB_DEVICES_MAX];
	uint64_t events;         /* events consumed */
	uint64_t init_us;        /* microseconds from reset to devices ready */
};

void usb_init(void);         /* every xHCI controller; each prints what it found */
void usb_poll(void);         /* interrupts off: events, key repeat */
void usb_service(void);      /* interrupts off, from the shell's idle loop: devices plugged in or out */
bool usb_keyboard_present(void);
int usb_controller_count(void);
const struct usb_controller *usb_controller(int i);
/* PCI USB controllers this kernel has no driver for (UHCI, OHCI, EHCI). */
int usb_unsupported_count(void);
const struct pci_dev *usb_unsupported(int i);
const char *usb_speed_name(unsigned speed);
/* Port n's PORTSC now (xHCI 1.2 5.4.8), 0 if there is no such port. */
uint32_t usb_port_status(int controller, unsigned port);
#endif
