/*
 * usb.c: the `usb [-v]` command: the USB host side as kernel/xhci.c found
 * it at boot (controllers, their ports with speed and state, the devices
 * with their descriptors) and what the keyboards sent last. -v adds every
 * port, connected or not, and each device's interfaces; -x the descriptors
 * as received, in hex (the unit tests' real descriptors came from there). sysinfo's
 * keyboard section borrows the one-line summary of each controller.
 */
#include "kernel.h"
#include "shell.h"
#include "usb.h"
#include "x86.h"

/* A port's link state (PORTSC.PLS, xHCI 1.2 5.4.8, table 5-27). */
static const char *link_state(unsigned pls)
{
	static const char *const names[16] = {
		"U0", "U1", "U2", "U3 (suspended)", "disabled", "rx detect", "inactive", "polling",
		"recovery", "hot reset", "compliance", "test", "12", "13", "14", "resume",
	};
	return names[pls & 15];
}

static void describe(const struct usb_controller *c, const char *indent)
{
	const struct pci_dev *p = c->pci;
	int devs = 0, kbds = 0;
	for (int i = 0; i < USB_DEVICES_MAX; i++)
		if (c->dev[i].used) {
			devs++;
			kbds += c->dev[i].keyboard;
		}
	if (!c->ready) {
		kprintf("%s%s %02x:%02x.%x (%04x:%04x): not in use: %s\n", indent, c->kind, p->bus,
			p->dev, p->fn, p->vendor, p->device, c->error);
		return;
	}
	kprintf("%s%s %02x:%02x.%x (%04x:%04x), version %x.%02x: %u ports, %d device%s, %d "
		"keyboard%s\n", indent, c->kind, p->bus, p->dev, p->fn, p->vendor, p->device,
		c->version >> 8, c->version & 0xff, c->ports, devs, devs == 1 ? "" : "s", kbds,
		kbds == 1 ? "" : "s");
}

void usb_describe_controllers(const char *indent)
{
	for (int i = 0; i < usb_controller_count(); i++)
		describe(usb_controller(i), indent);
	for (int i = 0; i < usb_unsupported_count(); i++) {
		const struct pci_dev *p = usb_unsupported(i);
		kprintf("%s%s %02x:%02x.%x (%04x:%04x): no driver for this controller\n", indent,
			pci_class_name(p->class, p->subclass, p->prog_if), p->bus, p->dev, p->fn,
			p->vendor, p->device);
	}
}

static void hex(const char *what, const uint8_t *b, unsigned n)
{
	if (!n)
		return;
	kprintf("    %s (%u bytes):", what, n);
	for (unsigned i = 0; i < n; i++)
		kprintf("%s%02x", i % 32 == 0 && i ? "\n      " : " ", b[i]);
	kprintf("\n");
}

static void show_device(const struct usb_controller *c, const struct usb_device *d, bool verbose,
			bool raw)
{
	kprintf("  device port %s: slot %u, address %u, %s: %s\n", d->path, d->slot, d->address,
		usb_speed_name(d->speed), d->role);
	if (d->have_desc)
		kprintf("    device descriptor: USB %x.%02x, class %02x/%02x/%02x (%s), vendor %04x "
			"product %04x release %x.%02x, EP0 %u bytes, %u configuration%s\n",
			d->desc.bcd_usb >> 8, d->desc.bcd_usb & 0xff, d->desc.class, d->desc.subclass,
			d->desc.protocol,
			usb_class_name(d->desc.class, d->desc.subclass, d->desc.protocol),
			d->desc.vendor, d->desc.product, d->desc.bcd_device >> 8,
			d->desc.bcd_device & 0xff, d->desc.max_packet0, d->desc.configs,
			d->desc.configs == 1 ? "" : "s");
	if (d->have_config) {
		kprintf("    configuration %u: %u bytes, %u interface%s, %u mA\n", d->config.value,
			d->config.total, d->config.interfaces, d->config.interfaces == 1 ? "" : "s",
			d->config.max_power * (d->speed >= 4 ? 8u : 2u));
		for (int i = 0; verbose && i < d->config.nifaces; i++) {
			const struct usb_iface_desc *f = &d->config.iface[i];
			kprintf("      interface %u: class %02x/%02x/%02x (%s)", f->number, f->class,
				f->subclass, f->protocol,
				usb_class_name(f->class, f->subclass, f->protocol));
			if (f->ep_addr)
				kprintf(", interrupt IN endpoint %#x, %u bytes, bInterval %u",
					f->ep_addr, f->ep_max_packet, f->ep_interval);
			kprintf("\n");
		}
	}
	if (d->hub_ports)
		kprintf("    hub: %u downstream ports\n", d->hub_ports);
	if (raw) {
		hex("device descriptor", d->raw_device, d->have_desc ? 18 : 0);
		hex("configuration", d->raw_config, d->raw_config_len);
		hex("hub descriptor", d->raw_hub, d->raw_hub_len);
	}
	if (d->error[0])
		kprintf("    failed: %s\n", d->error);
	if (!d->keyboard)
		return;
	kprintf("    keyboard: interface %u, endpoint DCI %u; %u reports, %u key presses, %u "
		"rollover or short reports, %u transfer errors\n", d->kbd_iface, d->kbd_dci,
		d->kbd.reports, d->kbd.presses, d->kbd.errors, d->kbd_errors);
	unsigned n = d->kept < USB_REPORTS_KEPT ? d->kept : USB_REPORTS_KEPT;
	for (unsigned k = 0; k < n; k++) {
		kprintf("    report -%u:", k);
		for (unsigned b = 0; b < d->last_len[k]; b++)
			kprintf(" %02x", d->last[k][b]);
		kprintf("\n");
	}
	(void)c;
}

void cmd_usb(int argc, char **argv)
{
	bool raw = argc > 1 && strcmp(argv[1], "-x") == 0;
	bool verbose = raw || (argc > 1 && strcmp(argv[1], "-v") == 0);
	if (argc > 2 || (argc > 1 && !verbose)) {
		kprintf("usb: usage: usb [-v|-x]  (-v: every port, the interfaces; -x: and the "
			"descriptors in hex)\n");
		return;
	}
	/* A snapshot: the polling (timer tick) must not change it meanwhile. */
	uint64_t flags = read_rflags();
	cli();
	if (!usb_controller_count() && !usb_unsupported_count())
		kprintf("usb: no USB controller on PCI\n");
	usb_describe_controllers("");
	for (int i = 0; i < usb_controller_count(); i++) {
		const struct usb_controller *c = usb_controller(i);
		if (!c->ready)
			continue;
		kprintf("controller %d: %u slots, %u-byte contexts, %u scratchpad pages, %s addressing, "
			"registers at %#lx (%u KiB); BIOS handoff: %s; %lu events; up in %lu ms\n",
			i, c->slots, c->ctx_size, c->scratchpads, c->ac64 ? "64-bit" : "32-bit",
			c->mmio, c->mmio_size >> 10, c->handoff, c->events, c->init_us / 1000);
		if (c->intel_switched)
			kprintf("  Intel PCH port routing: USB 2 ports %#x switched from EHCI to xHCI, "
				"USB 3 terminations %#x on\n", c->intel_usb2_routed, c->intel_usb3_enabled);
		for (unsigned n = 0; n < c->ports; n++) {
			const struct usb_port *p = &c->port[n];
			uint32_t v = usb_port_status(i, p->number);
			if (!verbose && !(v & 1))
				continue;
			kprintf("  port %u (USB %u): %s, %s, %s, link %s\n", p->number, p->major,
				(v & 1) ? "connected" : "empty", (v & 2) ? "enabled" : "disabled",
				(v & 1) ? usb_speed_name((v >> 10) & 0xf) : "no speed",
				link_state((v >> 5) & 0xf));
		}
		for (int k = 0; k < USB_DEVICES_MAX; k++)
			if (c->dev[k].used)
				show_device(c, &c->dev[k], verbose, raw);
	}
	if (flags & 0x200)
		sti();
}
