/*
 * usbdesc.h: USB descriptors parsed and checked (usbdesc.c; pure,
 * unit-tested on the host). USB 2.0 section 9.6 gives the layouts; the
 * hub descriptor is USB 2.0 11.23.2.1, the HID class codes HID 1.11 4.
 *
 * Every length is checked against the bytes really received: a descriptor
 * whose bLength is below its type's minimum or runs past the end, or a
 * zero bLength (which would loop forever), is an error with a reason.
 */
#ifndef MORESTACK_USBDESC_H
#define MORESTACK_USBDESC_H
#include <stdbool.h>
#include <stdint.h>

#define USB_DESC_DEVICE 1
#define USB_DESC_CONFIG 2
#define USB_DESC_STRING 3
#define USB_DESC_INTERFACE 4
#define USB_DESC_ENDPOINT 5
#define USB_DESC_HID 0x21
#define USB_DESC_HUB 0x29

#define USB_CLASS_HID 3
#define USB_CLASS_HUB 9

struct usb_device_desc {
	uint16_t bcd_usb, vendor, product, bcd_device;
	uint8_t class, subclass, protocol, max_packet0, configs;
};

struct usb_iface_desc {
	uint8_t number, alt, class, subclass, protocol;
	/* its first interrupt-IN endpoint, if any (ep_addr 0: none) */
	uint8_t ep_addr, ep_interval;
	uint16_t ep_max_packet;
};

#define USB_IFACES_MAX 8
struct usb_config_desc {
	uint16_t total;         /* wTotalLength */
	uint8_t value;          /* bConfigurationValue, for SET_CONFIGURATION */
	uint8_t interfaces;     /* bNumInterfaces */
	uint8_t max_power;      /* in 2 mA units */
	int nifaces;            /* alternate setting 0 of each, at most USB_IFACES_MAX */
	struct usb_iface_desc iface[USB_IFACES_MAX];
};

/* Each returns 0, or -1 with *why set to a sentence saying what is wrong. */
int usb_parse_device(const uint8_t *buf, unsigned len, struct usb_device_desc *d, const char **why);
int usb_parse_config(const uint8_t *buf, unsigned len, struct usb_config_desc *c, const char **why);
/* A hub descriptor: its number of downstream ports. */
int usb_parse_hub(const uint8_t *buf, unsigned len, unsigned *ports, const char **why);

/* The interface of a HID boot keyboard (class 3, subclass 1, protocol 1)
 * with an interrupt-IN endpoint; NULL if none. */
const struct usb_iface_desc *usb_find_boot_keyboard(const struct usb_config_desc *c);
/* "HID boot keyboard", "hub", "mass storage", ...: an interface's class in words. */
const char *usb_class_name(uint8_t class, uint8_t subclass, uint8_t protocol);
#endif
