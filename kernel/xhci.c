/*
 * xhci.c: a polled xHCI host-controller driver and the USB devices behind
 * it that the shell needs: HID boot keyboards, behind USB 2 hubs or not,
 * at boot or plugged in later. Written from the eXtensible Host Controller Interface
 * specification, revision 1.2 (section numbers below), USB 2.0 (chapters 9
 * and 11) and HID 1.11. The pure parts are xhci_ring.c (rings, contexts),
 * usbdesc.c (descriptors), hid.c (reports) and keymap.c (keys to bytes).
 *
 * Memory the controller reads and writes (all from phys_pages, one 4 KiB
 * page each, so 64-byte aligned and never crossing 64 KiB; below 4 GiB
 * unless HCCPARAMS1.AC64):
 *
 *   DCBAAP ──> DCBAA[0] ──> scratchpad array ──> scratchpad pages (4.20)
 *              DCBAA[s] ──> Device Context of slot s (output, 6.2.1)
 *
 *   CRCR ──> command ring:  [cmd][cmd][   ][   ] ... [Link TC] ─┐ (4.9.3)
 *              ▲ enq, producer cycle bit                        │
 *              └────────────────────────────────────────────────┘
 *   doorbell 0 tells the controller a command is there (5.6)
 *
 *   ERSTBA ──> segment table [base, 256] ──> event ring: [ev][ev][  ]...
 *   ERDP: what we consumed (written back with EHB); no Link TRB: the
 *   controller wraps by the table and flips its cycle (4.9.4)
 *
 *   per device: EP0 transfer ring (Setup, Data, Status TRBs), and for a
 *   keyboard an interrupt-IN ring holding KBD_BUFS Normal TRBs with IOC,
 *   each on a report buffer of one packet (8 to 64 bytes); doorbell s,
 *   target DCI (5.6).
 *
 * Where the polling happens (usb_poll: the event ring, then key repeat):
 *   - at the prompt, in input_getc whenever its queue is empty, so a key
 *     is read as soon as the shell wakes up;
 *   - every TICK_POLL_NS (10 ms, about a USB keyboard's own report
 *     interval) from the PIT tick (tick.c), which otherwise runs only
 *     while tasks run: it wakes the shell's hlt at the prompt (key repeat
 *     keeps time, a keyboard plugged in is seen), and while any command
 *     runs a Ctrl-C report reaches stop_key through input_push at once.
 *     Interrupts from the controller (MSI, or the INTx pin through the PIC)
 *     would need the PCI interrupt routing (ACPI _PRT, AML); the tick
 *     needs nothing and 100 polls a second cost little.
 *   - Enumerating a device waits for commands and transfers, which the
 *     tick must never do: plugging in and out (Port Status Change events,
 *     noted by the polling) and restarting a halted keyboard are done by
 *     usb_service, from input_getc (the shell at its prompt).
 *
 * Invariants:
 *   - Everything runs with interrupts off (boot, before sti; input_getc;
 *     the timer tick; the `usb` command reads a snapshot): one CPU, so the
 *     rings and the state here have one user at a time and need no lock.
 *   - Every wait has a time limit (TSC); a step that fails records which
 *     step and why in the controller's error (or the device's), prints it,
 *     and the kernel goes on: a failed controller is halted (no DMA into
 *     memory it may no longer own), a failed device is left alone.
 *   - Interrupts stay off in the controller (USBCMD.INTE = 0, IMAN.IE = 0):
 *     events are found by polling the event ring (usb_poll).
 *   - A running keyboard's ring always holds KBD_BUFS outstanding Normal
 *     TRBs: each completion is decoded, then its TRB is queued again on
 *     the same buffer, so reports that come in a burst wait in the
 *     buffers. A completion with an error halts the endpoint (4.10.2):
 *     nothing is queued until usb_service restarts it.
 *   - A device's DMA pages are its own (xdev.pages) and go back to
 *     phys_pages only after Disable Slot completed: the controller never
 *     writes to a page handed out again.
 *
 * Real PCs differ from QEMU here (what the code does about it):
 *   - Intel 7/8/9 Series PCHs route their USB 2 ports to EHCI until told
 *     otherwise: intel_route_ports switches them to xHCI. Older PCs with
 *     EHCI (and UHCI/OHCI companion controllers for full and low speed)
 *     and no xHCI have no driver here: usb_init names them at boot and
 *     `usb` lists them; their keyboards work only if the firmware's PS/2
 *     emulation survives ExitBootServices.
 *   - The firmware may own the controller (USB Legacy Support, 7.1):
 *     bios_handoff takes it, within 1 s, and turns its SMIs off.
 *   - Scratchpad buffers, 64-byte contexts, ports that need power, slow
 *     devices (reset recovery, connect debounce, hub power-good times) are
 *     handled though QEMU needs none of them; a keyboard on a USB 3 hub is
 *     not (the hub is listed, its ports left alone).
 */
#include "input.h"
#include "kernel.h"
#include <stdarg.h>
#include "keymap.h"
#include "pci.h"
#include "stop.h"
#include "usb.h"
#include "x86.h"
#include "xhci_ring.h"

#define RING_TRBS 256  /* one page */
#define KBD_BUFS 16
#define CMD_MS 500     /* a command's completion */
#define XFER_MS 500    /* a control transfer */

/* Capability registers (5.3). */
#define CAPLENGTH 0x00
#define HCIVERSION 0x02
#define HCSPARAMS1 0x04
#define HCSPARAMS2 0x08
#define HCCPARAMS1 0x10
#define DBOFF 0x14
#define RTSOFF 0x18
/* Operational registers (5.4). */
#define USBCMD 0x00
#define USBSTS 0x04
#define PAGESIZE 0x08
#define CRCR 0x18
#define DCBAAP 0x30
#define CONFIG 0x38
#define PORTSC(n) (0x400 + 0x10 * ((n) - 1))
#define CMD_RS (1u << 0)
#define CMD_HCRST (1u << 1)
#define STS_HCH (1u << 0)
#define STS_HSE (1u << 2)
#define STS_CNR (1u << 11)
/* PORTSC bits (5.4.8). */
#define PS_CCS (1u << 0)
#define PS_PED (1u << 1)
#define PS_PR (1u << 4)
#define PS_PLS(v) (((v) >> 5) & 0xf)
#define PS_PP (1u << 9)
#define PS_SPEED(v) (((v) >> 10) & 0xf)
#define PS_CHANGES (0x7fu << 17) /* CSC PEC WRC OCC PRC PLC CEC: write 1 to clear */
#define PS_PRC (1u << 21)
#define PS_KEEP (PS_PP | 0x0e000000u) /* what a write must preserve: power, wake enables */
/* Interrupter 0 in the runtime registers (5.5.2). */
#define IMAN 0x20
#define IMOD 0x24
#define ERSTSZ 0x28
#define ERSTBA 0x30
#define ERDP 0x38
#define ERDP_EHB (1u << 3)

struct xdev {
	void *in, *out;
	uint64_t in_phys, out_phys;
	struct xhci_ring ep0, intr;
	uint8_t *buf;            /* control transfers' data, 1 KiB */
	uint64_t buf_phys;
	uint8_t *reports;        /* KBD_BUFS reports, 64 bytes apart */
	uint64_t reports_phys;
	uint64_t data_trb, status_trb;
	volatile bool ctl_done;
	uint32_t ctl_code, data_code, data_residue;
	uint64_t pages[6];       /* every DMA page it holds, freed when it goes */
	unsigned npages;
};

struct xhc {
	struct usb_controller info;
	volatile uint8_t *cap, *op, *rt;
	volatile uint32_t *db;
	uint64_t *dcbaa;
	struct xhci_ring cmd;
	struct xhci_event_ring ev;
	uint64_t cmd_trb;
	volatile bool cmd_done;
	uint32_t cmd_code;
	uint8_t cmd_slot;
	uint32_t port_changed;   /* root ports with a Port Status Change event to look at */
	struct xdev xd[USB_DEVICES_MAX];
};

static struct xhc ctrl[USB_CONTROLLERS_MAX];
static int nctrl;
static const struct pci_dev *unsupported[USB_CONTROLLERS_MAX];
static int nunsupported;
static bool any_keyboard;

static uint32_t rd(volatile uint8_t *base, unsigned off) { return *(volatile uint32_t *)(base + off); }
static void wr(volatile uint8_t *base, unsigned off, uint32_t v) { *(volatile uint32_t *)(base + off) = v; }
static void wr64(volatile uint8_t *base, unsigned off, uint64_t v)
{
	wr(base, off, (uint32_t)v); /* low half first: ERSTBA takes effect on the high write */
	wr(base, off + 4, (uint32_t)(v >> 32));
}

static uint64_t now_ms(void)
{
	uint64_t hz = boot_info.tsc_hz ? boot_info.tsc_hz : 1000000000UL;
	return rdtsc() / (hz / 1000);
}
static uint64_t deadline(unsigned ms)
{
	uint64_t hz = boot_info.tsc_hz ? boot_info.tsc_hz : 1000000000UL;
	return rdtsc() + hz / 1000 * ms;
}
static void delay_ms(unsigned ms)
{
	uint64_t end = deadline(ms);
	while (rdtsc() < end)
		pause();
}

/* A register bit (mask) reaching a value (set), within ms. */
static bool wait_reg(volatile uint8_t *base, unsigned off, uint32_t mask, bool set, unsigned ms)
{
	uint64_t end = deadline(ms);
	for (;;) {
		if (!!(rd(base, off) & mask) == set)
			return true;
		if (rdtsc() >= end)
			return false;
		pause();
	}
}

/* One zeroed DMA page (its physical address in *phys), or NULL. */
static void *dma_page(struct xhc *x, uint64_t *phys)
{
	uint64_t p = pmem_alloc(&phys_pages);
	if (!p)
		return NULL;
	if (!x->info.ac64 && p + PAGE_SIZE > (1UL << 32)) {
		/* A 32-bit controller cannot reach it; the page is given back. */
		pmem_free(&phys_pages, p);
		return NULL;
	}
	void *v = phys_to_virt(p);
	memset(v, 0, PAGE_SIZE);
	*phys = p;
	return v;
}

/* A DMA page for a device, remembered so that it is freed when the device goes. */
static void *dev_page(struct xhc *x, struct xdev *xd, uint64_t *phys)
{
	if (xd->npages == sizeof xd->pages / sizeof xd->pages[0])
		return NULL;
	void *v = dma_page(x, phys);
	if (v)
		xd->pages[xd->npages++] = *phys;
	return v;
}

static bool fail(struct xhc *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct xhc *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(x->info.error, sizeof x->info.error, fmt, ap);
	va_end(ap);
	return false;
}

static bool dev_fail(struct usb_device *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool dev_fail(struct usb_device *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(d->error, sizeof d->error, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- events (4.9.4, 6.4.2) ---- */

static void emit(void *ctx, const char *bytes)
{
	(void)ctx;
	input_push_string(bytes);
}

static struct usb_device *dev_of_slot(struct xhc *x, unsigned slot, struct xdev **xd)
{
	for (int i = 0; i < USB_DEVICES_MAX; i++)
		if (x->info.dev[i].used && x->info.dev[i].slot == slot) {
			*xd = &x->xd[i];
			return &x->info.dev[i];
		}
	return NULL;
}

/* A keyboard's report arrived (or its transfer failed): decode, requeue. */
static void keyboard_event(struct xhc *x, struct usb_device *d, struct xdev *xd,
			   const struct xhci_trb *ev)
{
	unsigned code = TRB_COMPLETION(ev->status);
	struct xhci_trb *t = xhci_ring_at(&xd->intr, ev->param);
	if (!t)
		return;
	uint64_t buf = t->param;
	if (code != CC_SUCCESS && code != CC_SHORT_PACKET) {
		/* The endpoint halted (a stall, a transaction error, 4.10.2):
		 * the commands that restart it wait for completions, which is
		 * not for the timer tick: usb_service does it at the prompt. */
		d->kbd_errors++;
		if (!d->kbd_halted)
			dev_fail(d, "keyboard report: completion %u (%s): endpoint halted", code,
				 xhci_completion_name(code));
		d->kbd_halted = true;
		return;
	}
	d->kbd_retries = 0; /* a good report: the endpoint works */
	unsigned residue = TRB_RESIDUE(ev->status);
	unsigned len = residue >= d->kbd_len ? 0 : d->kbd_len - residue;
	if (len > 8)
		len = 8; /* a boot report is 8 bytes; the rest is not looked at */
	const uint8_t *r = phys_to_virt(buf);
	for (int k = USB_REPORTS_KEPT - 1; k > 0; k--) {
		memcpy(d->last[k], d->last[k - 1], 8);
		d->last_len[k] = d->last_len[k - 1];
	}
	memcpy(d->last[0], r, 8);
	d->last_len[0] = (uint8_t)len;
	d->kept++;
	hid_kbd_report(&d->kbd, r, len, now_ms(), emit, NULL);
	xhci_ring_push(&xd->intr, buf, d->kbd_len, TRB_TYPE(TRB_NORMAL) | TRB_IOC | TRB_ISP);
	x->db[d->slot] = d->kbd_dci;
}

static void handle_event(struct xhc *x, const struct xhci_trb *ev)
{
	unsigned type = TRB_GET_TYPE(ev->control);
	unsigned slot = ev->control >> 24;
	if (type == TRB_COMMAND_COMPLETION) {
		if (ev->param == x->cmd_trb) {
			x->cmd_code = TRB_COMPLETION(ev->status);
			x->cmd_slot = (uint8_t)slot;
			x->cmd_done = true;
		}
	} else if (type == TRB_TRANSFER_EVENT) {
		struct xdev *xd;
		struct usb_device *d = dev_of_slot(x, slot, &xd);
		unsigned dci = (ev->control >> 16) & 0x1f;
		if (!d)
			return;
		if (dci == 1) {
			unsigned code = TRB_COMPLETION(ev->status);
			if (ev->param == xd->data_trb) {
				xd->data_code = code;
				xd->data_residue = TRB_RESIDUE(ev->status);
				if (code != CC_SUCCESS && code != CC_SHORT_PACKET) {
					xd->ctl_code = code; /* halted: no status stage follows */
					xd->ctl_done = true;
				}
			} else if (ev->param == xd->status_trb) {
				xd->ctl_code = code;
				xd->ctl_done = true;
			} else if (code != CC_SUCCESS && code != CC_SHORT_PACKET) {
				/* an error on the Setup stage ends the transfer */
				xd->ctl_code = code;
				xd->ctl_done = true;
			}
		} else if (d->keyboard && dci == d->kbd_dci) {
			keyboard_event(x, d, xd, ev);
		}
	} else if (type == TRB_PORT_STATUS_CHANGE) {
		/* Looked at by usb_service, from the shell's idle loop: a
		 * device is enumerated there, never in the timer tick. */
		unsigned port = (unsigned)(ev->param >> 24) & 0xff;
		if (port >= 1 && port <= x->info.ports)
			x->port_changed |= 1u << (port - 1);
	}
}

static void process_events(struct xhc *x)
{
	const struct xhci_trb *ev;
	bool any = false;
	while ((ev = xhci_event_peek(&x->ev))) {
		struct xhci_trb copy = *ev;
		xhci_event_pop(&x->ev);
		x->info.events++;
		any = true;
		handle_event(x, &copy);
	}
	if (any)
		wr64(x->rt, ERDP, xhci_event_deq_phys(&x->ev) | ERDP_EHB);
}

static bool wait_flag(struct xhc *x, volatile bool *flag, unsigned ms)
{
	uint64_t end = deadline(ms);
	for (;;) {
		process_events(x);
		if (*flag)
			return true;
		if (rdtsc() >= end)
			return false;
		pause();
	}
}

/* ---- commands (4.6) ---- */

static bool command(struct xhc *x, const char *what, uint64_t param, uint32_t control, char *err,
		    unsigned cap)
{
	x->cmd_done = false;
	x->cmd_trb = xhci_ring_push(&x->cmd, param, 0, control);
	x->db[0] = 0; /* doorbell 0, target 0: the command ring */
	if (!wait_flag(x, &x->cmd_done, CMD_MS)) {
		ksnprintf(err, cap, "%s: no completion event in %u ms", what, CMD_MS);
		return false;
	}
	if (x->cmd_code != CC_SUCCESS) {
		ksnprintf(err, cap, "%s: completion code %u (%s)", what, x->cmd_code,
			  xhci_completion_name(x->cmd_code));
		return false;
	}
	return true;
}

/* ---- control transfers on EP0 (4.11.2.2, 6.4.1.2) ---- */

/* A control request; IN data lands in xd->buf, OUT data is taken from it.
 * Returns the bytes transferred, or -1 with d->error set. */
static int control(struct xhc *x, struct usb_device *d, struct xdev *xd, const char *what,
		   uint8_t type, uint8_t request, uint16_t value, uint16_t index, uint16_t len)
{
	bool in = type & 0x80;
	uint64_t setup = type | (uint64_t)request << 8 | (uint64_t)value << 16 |
			 (uint64_t)index << 32 | (uint64_t)len << 48;
	uint32_t trt = len ? (in ? 3u : 2u) : 0u; /* transfer type: IN, OUT or no data */
	xd->ctl_done = false;
	xd->data_trb = 0;
	xd->data_code = CC_SUCCESS;
	xd->data_residue = 0;
	xhci_ring_push(&xd->ep0, setup, 8, TRB_TYPE(TRB_SETUP) | TRB_IDT | trt << 16);
	if (len)
		xd->data_trb = xhci_ring_push(&xd->ep0, xd->buf_phys, len,
					      TRB_TYPE(TRB_DATA) | TRB_ISP | TRB_IOC |
						      (in ? TRB_DIR_IN : 0));
	/* The status stage goes the other way from the data (IN if there was none). */
	xd->status_trb = xhci_ring_push(&xd->ep0, 0, 0,
					TRB_TYPE(TRB_STATUS) | TRB_IOC |
						((in && len) ? 0 : TRB_DIR_IN));
	x->db[d->slot] = 1;
	if (!wait_flag(x, &xd->ctl_done, XFER_MS))
		return dev_fail(d, "%s: no transfer event in %u ms", what, XFER_MS), -1;
	if (xd->ctl_code != CC_SUCCESS) {
		dev_fail(d, "%s: completion code %u (%s)", what, xd->ctl_code,
			 xhci_completion_name(xd->ctl_code));
		if (xd->ctl_code == CC_STALL) {
			/* A stalled EP0 is halted: Reset Endpoint, then move its
			 * dequeue pointer past the abandoned TRBs (4.6.8, 4.6.10). */
			char e[80];
			if (command(x, "reset endpoint", 0,
				    TRB_TYPE(TRB_RESET_EP) | TRB_SLOT(d->slot) | TRB_EP(1), e, sizeof e))
				command(x, "set dequeue pointer",
					(xd->ep0.phys + xd->ep0.enq * 16) | xd->ep0.cycle,
					TRB_TYPE(TRB_SET_TR_DEQUEUE) | TRB_SLOT(d->slot) | TRB_EP(1), e,
					sizeof e);
		}
		return -1;
	}
	return len ? (int)(len - (xd->data_residue <= len ? xd->data_residue : len)) : 0;
}

/* ---- devices ---- */

const char *usb_speed_name(unsigned speed)
{
	switch (speed) {
	case 1: return "full speed (12 Mb/s)";
	case 2: return "low speed (1.5 Mb/s)";
	case 3: return "high speed (480 Mb/s)";
	case 4: return "super speed (5 Gb/s)";
	case 5: return "super speed+ (10 Gb/s)";
	default: return "unknown speed";
	}
}

static void configure_keyboard(struct xhc *x, struct usb_device *d, struct xdev *xd,
			       const struct usb_iface_desc *f);
static void configure_hub(struct xhc *x, struct usb_device *d, struct xdev *xd, int index);

/* Brings up the device on a port: slot, address, descriptors, then its
 * driver (keyboard or hub). parent: the hub's index, -1 for a root port. */
static void enumerate(struct xhc *x, unsigned root_port, unsigned speed, int parent,
		      unsigned hub_port)
{
	int i = 0;
	while (i < USB_DEVICES_MAX && x->info.dev[i].used)
		i++;
	if (i == USB_DEVICES_MAX) {
		kprintf("usb: port %u: more than %d devices: this one is left alone\n", root_port,
			USB_DEVICES_MAX);
		return;
	}
	struct usb_device *d = &x->info.dev[i];
	struct xdev *xd = &x->xd[i];
	*d = (struct usb_device){ .used = true, .speed = (uint8_t)speed,
				  .root_port = (uint8_t)root_port, .hub_port = (uint8_t)hub_port,
				  .role = "not configured" };
	*xd = (struct xdev){ 0 };
	d->priv = xd;
	if (parent >= 0) {
		const struct usb_device *h = &x->info.dev[parent];
		d->parent = (uint8_t)parent;
		d->depth = (uint8_t)(h->depth + 1);
		/* Route string (8.9): a nibble a hub tier, the first hub's port
		 * lowest; ports above 15 cannot be routed (configure_hub stops there). */
		d->route = h->route | (hub_port & 0xf) << (4 * h->depth);
		/* A low/full-speed device talks through the transaction translator
		 * of the nearest high-speed hub above it (4.5.2; USB 2.0 11.14). */
		if (speed <= 2 && h->speed == 3) {
			d->tt_slot = h->slot;
			d->tt_port = (uint8_t)hub_port;
		} else {
			d->tt_slot = h->tt_slot;
			d->tt_port = h->tt_port;
		}
		ksnprintf(d->path, sizeof d->path, "%s.%u", h->path, hub_port);
	} else {
		ksnprintf(d->path, sizeof d->path, "%u", root_port);
	}
	char err[96];
	/* Enable Slot (4.6.3): the controller picks the slot. */
	if (!command(x, "enable slot", 0, TRB_TYPE(TRB_ENABLE_SLOT), err, sizeof err)) {
		dev_fail(d, "%s", err);
		return;
	}
	d->slot = x->cmd_slot;
	uint64_t ring_phys, in_phys, out_phys;
	void *ring = dev_page(x, xd, &ring_phys);
	xd->in = dev_page(x, xd, &in_phys);
	xd->out = dev_page(x, xd, &out_phys);
	xd->buf = dev_page(x, xd, &xd->buf_phys);
	if (!ring || !xd->in || !xd->out || !xd->buf) {
		dev_fail(d, "no memory for its contexts and rings");
		return;
	}
	xd->in_phys = in_phys;
	xd->out_phys = out_phys;
	xhci_ring_init(&xd->ep0, ring, ring_phys, RING_TRBS);
	x->dcbaa[d->slot] = out_phys;

	/* Address Device (4.3.3, 4.6.5): slot and EP0 contexts in. The
	 * default packet size: 8 for low and full speed until the device
	 * descriptor says (fixed up by Evaluate Context), 64 high, 512 super. */
	unsigned cs = x->info.ctx_size;
	unsigned mps = speed >= 4 ? 512 : speed == 3 ? 64 : 8;
	struct xhci_slot_fields sf = { .route = d->route, .speed = speed, .entries = 1,
				       .root_port = root_port };
	if (speed <= 2) {
		sf.tt_slot = d->tt_slot;
		sf.tt_port = d->tt_port;
	}
	xhci_input_control(xd->in, cs)[1] = 0x3; /* add: slot, EP0 */
	xhci_slot_fill(xhci_input_slot(xd->in, cs), &sf);
	xhci_ep_fill(xhci_input_ep(xd->in, cs, 1), EP_CONTROL, mps, 0, ring_phys, 1, 8);
	if (!command(x, "address device", in_phys, TRB_TYPE(TRB_ADDRESS_DEVICE) | TRB_SLOT(d->slot),
		     err, sizeof err)) {
		dev_fail(d, "%s", err);
		return;
	}
	d->address = (uint8_t)xhci_slot_address(xhci_device_slot(xd->out, cs));

	/* The first 8 bytes of the device descriptor: bMaxPacketSize0. */
	int got = control(x, d, xd, "device descriptor (8 bytes)", 0x80, 6, USB_DESC_DEVICE << 8, 0, 8);
	if (got < 8) {
		if (got >= 0)
			dev_fail(d, "device descriptor: %d bytes of 8", got);
		return;
	}
	unsigned mps0 = speed >= 4 ? (xd->buf[7] < 16 ? 1u << xd->buf[7] : 512) : xd->buf[7];
	if (mps0 != mps && mps0 >= 8) {
		/* Evaluate Context (4.6.7): EP0's real packet size. */
		memset(xd->in, 0, xhci_context_bytes(cs, true));
		xhci_input_control(xd->in, cs)[1] = 0x2; /* EP0 */
		xhci_ep_fill(xhci_input_ep(xd->in, cs, 1), EP_CONTROL, mps0, 0, ring_phys, 1, 8);
		if (!command(x, "evaluate context", in_phys,
			     TRB_TYPE(TRB_EVALUATE_CTX) | TRB_SLOT(d->slot), err, sizeof err)) {
			dev_fail(d, "%s", err);
			return;
		}
	}
	const char *why;
	got = control(x, d, xd, "device descriptor", 0x80, 6, USB_DESC_DEVICE << 8, 0, 18);
	if (got < 0)
		return;
	memcpy(d->raw_device, xd->buf, got < 18 ? (unsigned)got : 18);
	if (usb_parse_device(xd->buf, (unsigned)got, &d->desc, &why)) {
		dev_fail(d, "%s", why);
		return;
	}
	d->have_desc = true;
	got = control(x, d, xd, "configuration descriptor (9 bytes)", 0x80, 6, USB_DESC_CONFIG << 8, 0,
		      9);
	if (got < 0)
		return;
	if (usb_parse_config(xd->buf, (unsigned)got, &d->config, &why)) {
		dev_fail(d, "%s", why);
		return;
	}
	unsigned total = d->config.total > 1024 ? 1024 : d->config.total;
	got = control(x, d, xd, "configuration descriptor", 0x80, 6, USB_DESC_CONFIG << 8, 0,
		      (uint16_t)total);
	if (got < 0)
		return;
	d->raw_config_len = (uint16_t)(got < 128 ? got : 128);
	memcpy(d->raw_config, xd->buf, d->raw_config_len);
	if (usb_parse_config(xd->buf, (unsigned)got, &d->config, &why)) {
		dev_fail(d, "%s", why);
		return;
	}
	d->have_config = true;

	const struct usb_iface_desc *kbd = usb_find_boot_keyboard(&d->config);
	bool hub = d->desc.class == USB_CLASS_HUB ||
		   (d->config.nifaces && d->config.iface[0].class == USB_CLASS_HUB);
	if (kbd) {
		configure_keyboard(x, d, xd, kbd);
	} else if (hub) {
		configure_hub(x, d, xd, i);
	} else {
		for (int k = 0; k < d->config.nifaces; k++)
			if (d->config.iface[k].class == USB_CLASS_HID &&
			    d->config.iface[k].subclass == 1 && d->config.iface[k].protocol == 2)
				d->role = "boot mouse: ignored";
		if (d->role[0] == 'n')
			d->role = "no driver: left alone";
	}
}

/* Configure Endpoint for the interrupt-IN endpoint (4.6.6), then the HID
 * requests that put the keyboard in the boot protocol (HID 1.11, 7.2). */
static void configure_keyboard(struct xhc *x, struct usb_device *d, struct xdev *xd,
			       const struct usb_iface_desc *f)
{
	unsigned cs = x->info.ctx_size, dci = XHCI_DCI(f->ep_addr);
	uint64_t ring_phys;
	void *ring = dev_page(x, xd, &ring_phys);
	xd->reports = dev_page(x, xd, &xd->reports_phys);
	if (!ring || !xd->reports) {
		dev_fail(d, "keyboard: no memory for its ring");
		return;
	}
	xhci_ring_init(&xd->intr, ring, ring_phys, RING_TRBS);
	memset(xd->in, 0, xhci_context_bytes(cs, true));
	xhci_input_control(xd->in, cs)[1] = 1u | 1u << dci; /* add: slot, the endpoint */
	memcpy(xhci_input_slot(xd->in, cs), xhci_device_slot(xd->out, cs), 16);
	uint32_t *slot = xhci_input_slot(xd->in, cs);
	slot[0] = (slot[0] & ~(0x1fu << 27)) | dci << 27; /* context entries */
	slot[3] = 0;
	unsigned mps = f->ep_max_packet > 8 ? f->ep_max_packet : 8;
	xhci_ep_fill(xhci_input_ep(xd->in, cs, dci), EP_INTERRUPT_IN, mps,
		     xhci_interval(d->speed, f->ep_interval), ring_phys, 1, 8);
	char err[96];
	if (!command(x, "configure endpoint", xd->in_phys,
		     TRB_TYPE(TRB_CONFIGURE_EP) | TRB_SLOT(d->slot), err, sizeof err)) {
		dev_fail(d, "keyboard: %s", err);
		return;
	}
	if (control(x, d, xd, "keyboard: SET_CONFIGURATION", 0x00, 9, d->config.value, 0, 0) < 0)
		return;
	if (control(x, d, xd, "keyboard: SET_PROTOCOL (boot)", 0x21, 0x0b, 0, f->number, 0) < 0)
		return;
	/* SET_IDLE 0: a report only when something changes. Optional for a
	 * boot keyboard: a stall is forgiven (the endpoint was reset). */
	if (control(x, d, xd, "keyboard: SET_IDLE", 0x21, 0x0a, 0, f->number, 0) < 0)
		d->error[0] = 0;
	d->keyboard = true;
	d->kbd_dci = (uint8_t)dci;
	/* A whole packet fits each buffer: a keyboard whose endpoint sends
	 * more than 8 bytes (some do, even in the boot protocol) would
	 * otherwise overrun the TRB (babble, 4.10.2.4) and halt. */
	d->kbd_len = (uint8_t)(mps < 64 ? mps : 64);
	d->kbd_iface = f->number;
	d->role = "keyboard (HID boot protocol)";
	for (unsigned b = 0; b < KBD_BUFS; b++)
		xhci_ring_push(&xd->intr, xd->reports_phys + 64 * b, d->kbd_len,
			       TRB_TYPE(TRB_NORMAL) | TRB_IOC | TRB_ISP);
	x->db[d->slot] = dci;
	any_keyboard = true;
}

/* A hub (USB 2.0, 11.24): its descriptor, the slot marked as a hub
 * (Configure Endpoint, 6.2.2), each port powered and reset, and what is
 * on it enumerated, depth first. The route string has room for five tiers
 * of hubs (USB allows no more). A USB 3 hub (its own descriptor type 0x2a
 * and port requests) is not handled: its ports are left alone. */
static void configure_hub(struct xhc *x, struct usb_device *d, struct xdev *xd, int index)
{
	d->role = "hub";
	if (d->depth >= 5) {
		d->role = "hub: more than five tiers deep: its ports are left alone";
		return;
	}
	if (d->speed >= 4) {
		d->role = "USB 3 hub: not supported here; its ports are left alone";
		return;
	}
	if (control(x, d, xd, "hub: SET_CONFIGURATION", 0x00, 9, d->config.value, 0, 0) < 0)
		return;
	int got = control(x, d, xd, "hub descriptor", 0xa0, 6, USB_DESC_HUB << 8, 0, 16);
	const char *why;
	unsigned ports;
	if (got < 0)
		return;
	d->raw_hub_len = (uint16_t)(got < 16 ? got : 16);
	memcpy(d->raw_hub, xd->buf, d->raw_hub_len);
	if (usb_parse_hub(xd->buf, (unsigned)got, &ports, &why)) {
		dev_fail(d, "%s", why);
		return;
	}
	if (ports > 15)
		ports = 15; /* a route string holds port numbers up to 15 */
	d->hub_ports = ports;
	unsigned cs = x->info.ctx_size;
	memset(xd->in, 0, xhci_context_bytes(cs, true));
	xhci_input_control(xd->in, cs)[1] = 1u; /* the slot context */
	uint32_t *slot = xhci_input_slot(xd->in, cs);
	memcpy(slot, xhci_device_slot(xd->out, cs), 16);
	slot[0] |= 1u << 26;                                  /* Hub */
	slot[1] = (slot[1] & 0x00ffffffu) | ports << 24;      /* Number of Ports */
	slot[3] = 0;
	char err[96];
	if (!command(x, "configure endpoint (hub)", xd->in_phys,
		     TRB_TYPE(TRB_CONFIGURE_EP) | TRB_SLOT(d->slot), err, sizeof err)) {
		dev_fail(d, "hub: %s", err);
		return;
	}
	for (unsigned p = 1; p <= ports; p++)
		control(x, d, xd, "hub: port power", 0x23, 3, 8 /* PORT_POWER */, (uint16_t)p, 0);
	/* bPwrOn2PwrGood (2 ms units), then the connect debounce (USB 2.0
	 * 7.1.7.3, TATTDB: 100 ms) before a port is reset. */
	unsigned good = 2u * (d->raw_hub_len > 5 ? d->raw_hub[5] : 50);
	delay_ms((good < 500 ? good : 500) + 100);
	d->error[0] = 0;
	for (unsigned p = 1; p <= ports; p++) {
		if (control(x, d, xd, "hub: port status", 0xa3, 0, 0, (uint16_t)p, 4) != 4)
			continue;
		uint16_t st = (uint16_t)(xd->buf[0] | xd->buf[1] << 8);
		if (!(st & 1))
			continue; /* nothing connected */
		control(x, d, xd, "hub: clear connection change", 0x23, 1, 16, (uint16_t)p, 0);
		if (control(x, d, xd, "hub: port reset", 0x23, 3, 4 /* PORT_RESET */, (uint16_t)p,
			    0) < 0)
			continue;
		bool done = false;
		uint64_t end = deadline(100);
		while (!done && rdtsc() < end) {
			if (control(x, d, xd, "hub: port status", 0xa3, 0, 0, (uint16_t)p, 4) != 4)
				break;
			st = (uint16_t)(xd->buf[0] | xd->buf[1] << 8);
			done = !(st & (1u << 4)) && (st & 2); /* reset over, enabled */
		}
		control(x, d, xd, "hub: clear reset change", 0x23, 1, 20, (uint16_t)p, 0);
		if (!done) {
			kprintf("usb: hub on port %s: its port %u did not come out of reset enabled "
				"in 100 ms: skipped\n", d->path, p);
			continue;
		}
		unsigned speed = (st & (1u << 9)) ? 2 : (st & (1u << 10)) ? 3 : 1;
		d->error[0] = 0;
		delay_ms(10); /* reset recovery (USB 2.0 7.1.7.5, TRSTRCY) */
		enumerate(x, d->root_port, speed, index, p);
	}
}

/* ---- the controller (4.2) ---- */

/* USB Legacy Support (7.1): take the controller from the firmware. */
static bool bios_handoff(struct xhc *x, unsigned off)
{
	uint32_t v = rd(x->cap, off);
	x->info.bios_owned = v & (1u << 16);
	if (x->info.bios_owned) {
		wr(x->cap, off, v | 1u << 24); /* HC OS Owned Semaphore */
		if (!wait_reg(x->cap, off, 1u << 16, false, 1000)) {
			x->info.handoff = "the firmware kept it for 1 s: taken anyway";
			wr(x->cap, off, (rd(x->cap, off) & ~(1u << 16)) | 1u << 24);
		} else {
			x->info.handoff = "taken from the firmware";
		}
	} else {
		x->info.handoff = "the firmware did not hold it";
	}
	/* USBLEGCTLSTS: the SMI enables off, the SMI status bits (RW1C) cleared. */
	uint32_t c = rd(x->cap, off + 4);
	wr(x->cap, off + 4, (c & ~0x0000e011u) | 0xe0000000u);
	return true;
}

/* The extended capabilities (7): legacy support and supported protocols. */
static void capabilities(struct xhc *x, uint32_t hcc1)
{
	unsigned off = (hcc1 >> 16) << 2;
	for (int guard = 0; off && guard < 64; guard++) {
		if (off + 16 > x->info.mmio_size)
			break;
		uint32_t v = rd(x->cap, off);
		unsigned id = v & 0xff;
		if (id == 1) {
			bios_handoff(x, off);
		} else if (id == 2) { /* Supported Protocol (7.2) */
			uint32_t ports = rd(x->cap, off + 8);
			unsigned first = ports & 0xff, count = (ports >> 8) & 0xff;
			for (unsigned p = first; p < first + count && p <= USB_PORTS_MAX; p++) {
				if (p == 0)
					continue;
				x->info.port[p - 1].major = (uint8_t)(v >> 24);
				x->info.port[p - 1].minor = (uint8_t)(v >> 16);
			}
		}
		unsigned next = (v >> 8) & 0xff;
		off = next ? off + next * 4 : 0;
	}
}

/*
 * Intel's 7, 8 and 9 Series PCHs (Panther Point, Lynx Point, Wildcat
 * Point) wire each USB 2 pin pair to both their EHCI and their xHCI
 * controller, and the ports go to EHCI until the system software switches
 * them (Intel 7 Series PCH datasheet, xHCI configuration registers:
 * XUSB2PR 0xd0 routes USB 2 ports to xHCI, XUSB2PRM 0xd4 says which may be;
 * USB3_PSSEN 0xd8 turns the SuperSpeed terminations on, USB3PRM 0xdc which
 * may be). Firmware often leaves them on EHCI after ExitBootServices, and
 * this kernel has no EHCI driver: every switchable port goes to xHCI.
 * (Linux does the same, for the same device IDs.) Later PCHs have xHCI
 * only; older ones have EHCI only, which `usb` names as unsupported.
 */
static void intel_route_ports(struct xhc *x)
{
	static const uint16_t switchable[] = { 0x1e31, 0x8c31, 0x9c31, 0x8cb1, 0x9cb1 };
	const struct pci_dev *p = x->info.pci;
	if (p->vendor != 0x8086)
		return;
	for (unsigned i = 0; i < sizeof switchable / sizeof switchable[0]; i++) {
		if (p->device != switchable[i])
			continue;
		uint32_t usb3 = pci_read32(p, 0xdc), usb2 = pci_read32(p, 0xd4);
		pci_write32(p, 0xd8, usb3);
		pci_write32(p, 0xd0, usb2);
		x->info.intel_usb2_routed = pci_read32(p, 0xd0);
		x->info.intel_usb3_enabled = pci_read32(p, 0xd8);
		x->info.intel_switched = true;
	}
}

static bool start(struct xhc *x, int index)
{
	const struct pci_dev *p = x->info.pci;
	struct pci_bar bar;
	if (pci_bar(p, 0, &bar) || bar.io || !bar.base || bar.size < 0x1000)
		return fail(x, "BAR 0: not a memory BAR with a base (size %#lx)", bar.size);
	if (bar.size > XHCI_SLOT)
		bar.size = XHCI_SLOT;
	x->info.mmio = bar.base;
	x->info.mmio_size = (uint32_t)bar.size;
	uint64_t va = XHCI_VIRT + (uint64_t)index * XHCI_SLOT;
	if (pt_map(&kernel_pt_env, vm_root(), va, bar.base, (bar.size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1),
		   PTE_W | PTE_NX | PTE_PCD | PTE_PWT, 0))
		return fail(x, "mapping BAR 0 (%#lx, %lu KiB)", bar.base, bar.size >> 10);
	pci_enable(p, PCI_CMD_MEMORY | PCI_CMD_BUS_MASTER);
	intel_route_ports(x);
	x->cap = (volatile uint8_t *)va;
	uint32_t cap0 = rd(x->cap, CAPLENGTH);
	if (cap0 == 0xffffffffu)
		return fail(x, "capability registers read all ones: the controller does not answer");
	x->op = x->cap + (cap0 & 0xff);
	x->info.version = (uint16_t)(cap0 >> 16);
	uint32_t hcs1 = rd(x->cap, HCSPARAMS1), hcs2 = rd(x->cap, HCSPARAMS2);
	uint32_t hcc1 = rd(x->cap, HCCPARAMS1);
	x->info.slots = hcs1 & 0xff;
	x->info.ports = hcs1 >> 24;
	if (x->info.ports > USB_PORTS_MAX)
		x->info.ports = USB_PORTS_MAX;
	x->info.ac64 = hcc1 & 1;
	x->info.ctx_size = (hcc1 & (1u << 2)) ? 64 : 32;
	x->info.scratchpads = ((hcs2 >> 21) & 0x1f) << 5 | hcs2 >> 27;
	x->rt = x->cap + (rd(x->cap, RTSOFF) & ~0x1fu);
	x->db = (volatile uint32_t *)(x->cap + (rd(x->cap, DBOFF) & ~0x3u));
	for (unsigned i = 0; i < x->info.ports; i++)
		x->info.port[i].number = (uint8_t)(i + 1);
	capabilities(x, hcc1);

	/* Halt (5.4.2: HCH within 16 ms of R/S cleared), then reset (4.2). */
	wr(x->op, USBCMD, rd(x->op, USBCMD) & ~CMD_RS);
	if (!wait_reg(x->op, USBSTS, STS_HCH, true, 100))
		return fail(x, "halt: USBSTS.HCH not set 100 ms after USBCMD.R/S was cleared");
	wr(x->op, USBCMD, CMD_HCRST);
	delay_ms(1); /* some Intel controllers must not be read at once after HCRST (Linux waits too) */
	if (!wait_reg(x->op, USBCMD, CMD_HCRST, false, 1000))
		return fail(x, "reset: USBCMD.HCRST still set after 1 s");
	if (!wait_reg(x->op, USBSTS, STS_CNR, false, 1000))
		return fail(x, "reset: USBSTS.CNR (controller not ready) still set after 1 s");
	if (!(rd(x->op, PAGESIZE) & 1))
		return fail(x, "PAGESIZE %#x: 4 KiB pages not supported", rd(x->op, PAGESIZE));

	/* MaxSlotsEn (5.4.7), the DCBAA (6.1) and its scratchpad buffers (4.20). */
	unsigned slots = x->info.slots < 255 ? x->info.slots : 255;
	wr(x->op, CONFIG, slots);
	uint64_t dcbaa_phys, cmd_phys, ev_phys, erst_phys;
	x->dcbaa = dma_page(x, &dcbaa_phys);
	if (!x->dcbaa)
		return fail(x, "no memory for the DCBAA");
	if (x->info.scratchpads) {
		uint64_t arr_phys;
		uint64_t *arr = dma_page(x, &arr_phys);
		if (!arr || x->info.scratchpads > 512)
			return fail(x, "scratchpad array for %u buffers", x->info.scratchpads);
		for (unsigned i = 0; i < x->info.scratchpads; i++)
			if (!dma_page(x, &arr[i]))
				return fail(x, "no memory for scratchpad buffer %u of %u", i,
					    x->info.scratchpads);
		x->dcbaa[0] = arr_phys;
	}
	wr64(x->op, DCBAAP, dcbaa_phys);

	/* The command ring (4.9.3, 5.4.5): RCS = 1, our first cycle. */
	void *cmd = dma_page(x, &cmd_phys);
	if (!cmd)
		return fail(x, "no memory for the command ring");
	xhci_ring_init(&x->cmd, cmd, cmd_phys, RING_TRBS);
	wr64(x->op, CRCR, cmd_phys | 1);

	/* The event ring and its one-entry segment table (4.9.4, 6.5);
	 * interrupter 0 with interrupts off: polled. */
	void *ev = dma_page(x, &ev_phys);
	uint64_t *erst = dma_page(x, &erst_phys);
	if (!ev || !erst)
		return fail(x, "no memory for the event ring");
	xhci_event_ring_init(&x->ev, ev, ev_phys, RING_TRBS);
	erst[0] = ev_phys;
	erst[1] = RING_TRBS;
	wr(x->rt, ERSTSZ, 1);
	wr64(x->rt, ERDP, ev_phys);
	wr64(x->rt, ERSTBA, erst_phys);
	wr(x->rt, IMOD, 0);
	wr(x->rt, IMAN, 1u); /* IP is RW1C; IE stays 0 */

	/* Run (4.2, 5.4.1). */
	wr(x->op, USBCMD, CMD_RS);
	if (!wait_reg(x->op, USBSTS, STS_HCH, false, 100))
		return fail(x, "run: USBSTS.HCH still set 100 ms after USBCMD.R/S");
	char err[96];
	if (!command(x, "no-op command", 0, TRB_TYPE(TRB_NOOP_CMD), err, sizeof err))
		return fail(x, "%s", err);
	return true;
}

/* Port power and reset (4.3, 4.19): USB 2 ports are reset to be enabled;
 * USB 3 ports enable themselves after link training (a warm reset is not
 * tried). Returns the speed ID of an enabled port with a device, or 0. */
static unsigned port_up(struct xhc *x, unsigned n)
{
	unsigned off = PORTSC(n);
	uint32_t v = rd(x->op, off);
	if (!(v & PS_PP)) {
		wr(x->op, off, (v & PS_KEEP) | PS_PP);
		delay_ms(20);
		v = rd(x->op, off);
	}
	if (!(v & PS_CCS))
		return 0;
	if (x->info.port[n - 1].major != 3) {
		wr(x->op, off, (v & PS_KEEP) | PS_PR);
		uint64_t end = deadline(200);
		while (!((v = rd(x->op, off)) & PS_PRC) && rdtsc() < end)
			pause();
	} else {
		uint64_t end = deadline(200);
		while (!((v = rd(x->op, off)) & PS_PED) && rdtsc() < end)
			pause();
	}
	wr(x->op, off, (v & PS_KEEP) | (v & PS_CHANGES)); /* clear the changes seen */
	v = rd(x->op, off);
	x->info.port[n - 1].portsc = v;
	if (!(v & PS_PED)) {
		kprintf("usb: %s port %u: a device is connected but the port is not enabled "
			"after its reset (PORTSC %#x): skipped\n",
			x->info.port[n - 1].major == 3 ? "USB 3" : "USB 2", n, v);
		return 0;
	}
	delay_ms(10); /* reset recovery (USB 2.0 7.1.7.5, TRSTRCY) before the first request */
	return PS_SPEED(v);
}

static void controller(const struct pci_dev *p)
{
	if (nctrl == USB_CONTROLLERS_MAX) {
		kprintf("usb: more than %d xHCI controllers: %02x:%02x.%x left alone\n",
			USB_CONTROLLERS_MAX, p->bus, p->dev, p->fn);
		return;
	}
	struct xhc *x = &ctrl[nctrl];
	x->info.pci = p;
	x->info.kind = "xHCI";
	x->info.handoff = "no USB Legacy Support capability";
	uint64_t t0 = rdtsc();
	int index = nctrl++;
	if (!start(x, index)) {
		if (x->op) /* stop it: no DMA into memory it no longer owns */
			wr(x->op, USBCMD, rd(x->op, USBCMD) & ~CMD_RS);
		kprintf("usb: xHCI %02x:%02x.%x: %s; going on without it\n", p->bus, p->dev, p->fn,
			x->info.error);
		return;
	}
	x->info.ready = true;
	for (unsigned n = 1; n <= x->info.ports; n++) {
		unsigned speed = port_up(x, n);
		if (speed)
			enumerate(x, n, speed, -1, 0);
	}
	for (unsigned n = 1; n <= x->info.ports; n++)
		x->info.port[n - 1].portsc = rd(x->op, PORTSC(n));
	x->info.init_us = tsc_to_us(rdtsc() - t0);
	int devs = 0, kbds = 0;
	for (int i = 0; i < USB_DEVICES_MAX; i++)
		if (x->info.dev[i].used) {
			devs++;
			kbds += x->info.dev[i].keyboard;
		}
	kprintf("usb: xHCI %02x:%02x.%x (%04x:%04x, version %x.%02x): %u ports, %u slots, "
		"%u-byte contexts; %d device%s, %d keyboard%s (%lu ms)\n",
		p->bus, p->dev, p->fn, p->vendor, p->device, x->info.version >> 8,
		x->info.version & 0xff, x->info.ports, x->info.slots, x->info.ctx_size, devs,
		devs == 1 ? "" : "s", kbds, kbds == 1 ? "" : "s", x->info.init_us / 1000);
	for (int i = 0; i < USB_DEVICES_MAX; i++) {
		struct usb_device *d = &x->info.dev[i];
		if (d->used && d->error[0])
			kprintf("usb: device on port %s: %s; going on without it\n", d->path,
				d->error);
	}
}

void usb_init(void)
{
	uint64_t flags = read_rflags();
	cli();
	for (const struct pci_dev *p = pci_find_class(0x0c, 0x03, -1, NULL); p;
	     p = pci_find_class(0x0c, 0x03, -1, p)) {
		if (p->prog_if == 0x30) {
			controller(p);
		} else if (p->prog_if != 0xfe && nunsupported < USB_CONTROLLERS_MAX) {
			unsupported[nunsupported++] = p;
			kprintf("usb: %s at %02x:%02x.%x: no driver for this controller here (only "
				"xHCI); its devices are not used\n",
				pci_class_name(p->class, p->subclass, p->prog_if), p->bus, p->dev,
				p->fn);
		}
	}
	for (int c = 0; c < nctrl; c++)
		if (ctrl[c].info.ready) {
			/* Keys and Ctrl-C while commands run, too, and a keyboard
			 * plugged in later is seen at the prompt. */
			tick_set_poll(usb_poll);
			break;
		}
	if (flags & 0x200)
		sti();
}

void usb_poll(void)
{
	uint64_t ms = now_ms();
	for (int c = 0; c < nctrl; c++) {
		struct xhc *x = &ctrl[c];
		if (!x->info.ready)
			continue;
		uint32_t sts = rd(x->op, USBSTS);
		if (sts & (STS_HSE | STS_HCH)) {
			/* It stopped by itself (5.4.2): a host system error, or gone
			 * (a surprise removal reads all ones). Not printed from here
			 * (the timer tick); `usb` shows it. */
			x->info.ready = false;
			fail(x, "stopped while running: USBSTS %#x (%s)", sts,
			     sts == 0xffffffffu ? "the controller is gone" :
			     (sts & STS_HSE) ? "host system error" : "halted");
			continue;
		}
		process_events(x);
		for (int i = 0; i < USB_DEVICES_MAX; i++)
			if (x->info.dev[i].used && x->info.dev[i].keyboard)
				hid_kbd_tick(&x->info.dev[i].kbd, ms, emit, NULL);
	}
}

/* The devices on root port n go: their slots disabled (4.6.4), their pages freed. */
static void unplugged(struct xhc *x, unsigned n)
{
	any_keyboard = false;
	for (int i = 0; i < USB_DEVICES_MAX; i++) {
		struct usb_device *d = &x->info.dev[i];
		struct xdev *xd = &x->xd[i];
		if (!d->used || d->root_port != n)
			continue;
		char err[96];
		bool freed = true;
		if (d->slot) {
			freed = command(x, "disable slot", 0, TRB_TYPE(TRB_DISABLE_SLOT) | TRB_SLOT(d->slot),
					err, sizeof err);
			x->dcbaa[d->slot] = 0;
		}
		/* A slot the controller did not give back may still write its
		 * pages: they are kept (lost) rather than handed out again. */
		for (unsigned k = 0; freed && k < xd->npages; k++)
			pmem_free(&phys_pages, xd->pages[k]);
		*d = (struct usb_device){ 0 };
		*xd = (struct xdev){ 0 };
	}
	for (int c = 0; c < nctrl; c++)
		for (int i = 0; i < USB_DEVICES_MAX; i++)
			if (ctrl[c].info.dev[i].used && ctrl[c].info.dev[i].keyboard)
				any_keyboard = true;
}

/* A keyboard's halted interrupt endpoint restarted: Reset Endpoint
 * (4.6.8), its dequeue pointer moved to a fresh place (4.6.10: the TRBs
 * still queued are given up), and KBD_BUFS TRBs queued again. A keyboard
 * whose endpoint halts three times with no good report between is given up. */
static void restart_keyboard(struct xhc *x, struct usb_device *d, struct xdev *xd)
{
	char err[96];
	d->kbd_halted = false;
	if (++d->kbd_retries > 3) {
		d->keyboard = false;
		dev_fail(d, "keyboard: its endpoint halted 3 times in a row: given up");
		d->role = "keyboard: given up";
		return;
	}
	uint32_t ep = TRB_SLOT(d->slot) | TRB_EP(d->kbd_dci);
	if (!command(x, "reset endpoint", 0, TRB_TYPE(TRB_RESET_EP) | ep, err, sizeof err) ||
	    !command(x, "set dequeue pointer",
		     (xd->intr.phys + xd->intr.enq * sizeof(struct xhci_trb)) | xd->intr.cycle,
		     TRB_TYPE(TRB_SET_TR_DEQUEUE) | ep, err, sizeof err)) {
		dev_fail(d, "keyboard: restarting its endpoint: %s", err);
		d->keyboard = false;
		d->role = "keyboard: given up";
		return;
	}
	for (unsigned b = 0; b < KBD_BUFS; b++)
		xhci_ring_push(&xd->intr, xd->reports_phys + 64 * b, d->kbd_len,
			       TRB_TYPE(TRB_NORMAL) | TRB_IOC | TRB_ISP);
	x->db[d->slot] = d->kbd_dci;
}

void usb_service(void)
{
	for (int c = 0; c < nctrl; c++) {
		struct xhc *x = &ctrl[c];
		for (int i = 0; x->info.ready && i < USB_DEVICES_MAX; i++)
			if (x->info.dev[i].used && x->info.dev[i].keyboard && x->info.dev[i].kbd_halted)
				restart_keyboard(x, &x->info.dev[i], &x->xd[i]);
		while (x->info.ready && x->port_changed) {
			unsigned n = (unsigned)__builtin_ctz(x->port_changed) + 1;
			x->port_changed &= ~(1u << (n - 1));
			uint32_t v = rd(x->op, PORTSC(n));
			bool present = false;
			for (int i = 0; i < USB_DEVICES_MAX; i++)
				present |= x->info.dev[i].used && x->info.dev[i].root_port == n;
			if (!(v & PS_CCS)) {
				wr(x->op, PORTSC(n), (v & PS_KEEP) | (v & PS_CHANGES));
				if (present)
					unplugged(x, n);
			} else if (!present || (v & (1u << 17) /* CSC: another device */)) {
				if (present)
					unplugged(x, n);
				delay_ms(100); /* connect debounce (USB 2.0 7.1.7.3, TATTDB) */
				unsigned speed = port_up(x, n);
				if (speed)
					enumerate(x, n, speed, -1, 0);
			}
			x->info.port[n - 1].portsc = rd(x->op, PORTSC(n));
		}
	}
}

bool usb_keyboard_present(void) { return any_keyboard; }
int usb_controller_count(void) { return nctrl; }
const struct usb_controller *usb_controller(int i) { return i >= 0 && i < nctrl ? &ctrl[i].info : NULL; }
int usb_unsupported_count(void) { return nunsupported; }
const struct pci_dev *usb_unsupported(int i)
{
	return i >= 0 && i < nunsupported ? unsupported[i] : NULL;
}

uint32_t usb_port_status(int i, unsigned n)
{
	if (i < 0 || i >= nctrl || !ctrl[i].info.ready || n < 1 || n > ctrl[i].info.ports)
		return 0;
	return rd(ctrl[i].op, PORTSC(n));
}
