/*
 * usbdesc.c: descriptor parsing (see usbdesc.h). Nothing here trusts a
 * length field: each descriptor's bLength is checked to be at least 2
 * (so the walk always advances), at least its type's minimum, and within
 * the bytes received, before any field past bLength is read.
 */
#include "usbdesc.h"

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int usb_parse_device(const uint8_t *buf, unsigned len, struct usb_device_desc *d, const char **why)
{
	if (len < 18) {
		*why = "device descriptor: fewer than 18 bytes received";
		return -1;
	}
	if (buf[1] != USB_DESC_DEVICE) {
		*why = "device descriptor: wrong descriptor type";
		return -1;
	}
	if (buf[0] < 18) {
		*why = "device descriptor: bLength below 18";
		return -1;
	}
	d->bcd_usb = le16(buf + 2);
	d->class = buf[4];
	d->subclass = buf[5];
	d->protocol = buf[6];
	d->max_packet0 = buf[7];
	d->vendor = le16(buf + 8);
	d->product = le16(buf + 10);
	d->bcd_device = le16(buf + 12);
	d->configs = buf[17];
	return 0;
}

int usb_parse_config(const uint8_t *buf, unsigned len, struct usb_config_desc *c, const char **why)
{
	*c = (struct usb_config_desc){ 0 };
	if (len < 9 || buf[0] < 9 || buf[1] != USB_DESC_CONFIG) {
		*why = len < 9 ? "configuration descriptor: fewer than 9 bytes received"
		       : buf[1] != USB_DESC_CONFIG ? "configuration descriptor: wrong descriptor type"
						    : "configuration descriptor: bLength below 9";
		return -1;
	}
	c->total = le16(buf + 2);
	c->interfaces = buf[4];
	c->value = buf[5];
	c->max_power = buf[8];
	if (c->total < 9) {
		*why = "configuration descriptor: wTotalLength below 9";
		return -1;
	}
	if (c->total < len)
		len = c->total; /* what follows is not part of it */
	struct usb_iface_desc *cur = 0;
	for (unsigned at = buf[0]; at < len;) {
		unsigned l = buf[at];
		if (at + 1 >= len) {
			*why = "configuration: a descriptor cut off after its length byte";
			return -1;
		}
		if (l < 2) {
			*why = "configuration: a descriptor with bLength below 2 (zero-length)";
			return -1;
		}
		if (at + l > len) {
			*why = "configuration: a descriptor's bLength runs past the end";
			return -1;
		}
		uint8_t type = buf[at + 1];
		if (type == USB_DESC_INTERFACE) {
			if (l < 9) {
				*why = "interface descriptor: bLength below 9";
				return -1;
			}
			cur = 0;
			if (buf[at + 3] == 0 && c->nifaces < USB_IFACES_MAX) {
				cur = &c->iface[c->nifaces++];
				*cur = (struct usb_iface_desc){ .number = buf[at + 2], .alt = 0,
								.class = buf[at + 5],
								.subclass = buf[at + 6],
								.protocol = buf[at + 7] };
			}
		} else if (type == USB_DESC_ENDPOINT) {
			if (l < 7) {
				*why = "endpoint descriptor: bLength below 7";
				return -1;
			}
			/* bmAttributes 3: interrupt; bit 7 of the address: IN */
			if (cur && !cur->ep_addr && (buf[at + 3] & 3) == 3 && (buf[at + 2] & 0x80)) {
				cur->ep_addr = buf[at + 2];
				cur->ep_max_packet = le16(buf + at + 4) & 0x7ff;
				cur->ep_interval = buf[at + 6];
			}
		}
		at += l;
	}
	return 0;
}

int usb_parse_hub(const uint8_t *buf, unsigned len, unsigned *ports, const char **why)
{
	if (len < 7 || buf[0] < 7 || buf[1] != USB_DESC_HUB) {
		*why = len < 7 ? "hub descriptor: fewer than 7 bytes received"
		       : buf[1] != USB_DESC_HUB ? "hub descriptor: wrong descriptor type"
						: "hub descriptor: bLength below 7";
		return -1;
	}
	*ports = buf[2];
	if (*ports == 0) {
		*why = "hub descriptor: no downstream ports";
		return -1;
	}
	return 0;
}

const struct usb_iface_desc *usb_find_boot_keyboard(const struct usb_config_desc *c)
{
	for (int i = 0; i < c->nifaces; i++) {
		const struct usb_iface_desc *f = &c->iface[i];
		if (f->class == USB_CLASS_HID && f->subclass == 1 && f->protocol == 1 && f->ep_addr &&
		    f->ep_max_packet)
			return f;
	}
	return 0;
}

const char *usb_class_name(uint8_t class, uint8_t subclass, uint8_t protocol)
{
	switch (class) {
	case 0: return "per interface";
	case 1: return "audio";
	case 2: return "communications";
	case USB_CLASS_HID:
		if (subclass == 1 && protocol == 1)
			return "HID boot keyboard";
		if (subclass == 1 && protocol == 2)
			return "HID boot mouse";
		return "HID";
	case 7: return "printer";
	case 8: return "mass storage";
	case USB_CLASS_HUB: return "hub";
	case 0x0a: return "CDC data";
	case 0x0e: return "video";
	case 0xe0: return "wireless";
	case 0xef: return "miscellaneous";
	case 0xff: return "vendor specific";
	default: return "other";
	}
}
