/*
 * xhci_ring.h: the xHCI data structures that need no hardware (xhci_ring.c;
 * pure, unit-tested on the host): TRB rings with their cycle bit, the event
 * ring's consumer side, and the layout of slot and endpoint contexts for
 * 32- and 64-byte contexts. Section numbers are those of the xHCI 1.2
 * specification.
 */
#ifndef MORESTACK_XHCI_RING_H
#define MORESTACK_XHCI_RING_H
#include <stdbool.h>
#include <stdint.h>

/* A Transfer Request Block (6.4): 16 bytes. */
struct xhci_trb {
	uint64_t param;
	uint32_t status;
	uint32_t control; /* bit 0: cycle; bits 15-10: type */
};

/* TRB types (6.4.6, table 6-91). */
enum {
	TRB_NORMAL = 1, TRB_SETUP = 2, TRB_DATA = 3, TRB_STATUS = 4, TRB_LINK = 6,
	TRB_ENABLE_SLOT = 9, TRB_DISABLE_SLOT = 10, TRB_ADDRESS_DEVICE = 11,
	TRB_CONFIGURE_EP = 12, TRB_EVALUATE_CTX = 13, TRB_RESET_EP = 14,
	TRB_SET_TR_DEQUEUE = 16, TRB_NOOP_CMD = 23,
	TRB_TRANSFER_EVENT = 32, TRB_COMMAND_COMPLETION = 33, TRB_PORT_STATUS_CHANGE = 34,
	TRB_HOST_CONTROLLER_EVENT = 37,
};
#define TRB_CYCLE (1u << 0)
#define TRB_TC (1u << 1)   /* Link TRB: toggle cycle (6.4.4.1) */
#define TRB_ISP (1u << 2)  /* interrupt on short packet */
#define TRB_IOC (1u << 5)  /* interrupt on completion */
#define TRB_IDT (1u << 6)  /* immediate data (the Setup TRB's 8 bytes) */
#define TRB_TYPE(t) ((uint32_t)(t) << 10)
#define TRB_GET_TYPE(c) (((c) >> 10) & 0x3f)
#define TRB_DIR_IN (1u << 16)
#define TRB_SLOT(s) ((uint32_t)(s) << 24)
#define TRB_EP(e) ((uint32_t)(e) << 16)
#define TRB_COMPLETION(status) ((status) >> 24)
#define TRB_RESIDUE(status) ((status) & 0xffffff)

/* Completion codes (6.4.5, table 6-90) this driver names. */
enum { CC_SUCCESS = 1, CC_DATA_BUFFER = 2, CC_BABBLE = 3, CC_TRANSACTION = 4, CC_TRB = 5,
       CC_STALL = 6, CC_NO_SLOTS = 9, CC_SLOT_NOT_ENABLED = 11, CC_SHORT_PACKET = 13,
       CC_PARAMETER = 17, CC_CONTEXT_STATE = 19 };
const char *xhci_completion_name(unsigned code);

/* A producer ring (command or transfer ring, 4.9.2): size TRBs in one
 * segment, the last one a Link TRB back to the first with Toggle Cycle. */
struct xhci_ring {
	struct xhci_trb *trb; /* size TRBs, the segment as the CPU sees it */
	uint64_t phys;        /* its physical address, for the controller */
	unsigned size;        /* including the Link TRB */
	unsigned enq;         /* the next TRB to write */
	uint32_t cycle;       /* the producer cycle state: 0 or 1 */
};
/* mem: size * 16 bytes, 64-byte aligned, not crossing 64 KiB (6.5); zeroed here. */
void xhci_ring_init(struct xhci_ring *r, void *mem, uint64_t phys, unsigned size);
/* Writes a TRB (control without the cycle bit) and hands it to the controller
 * by writing its cycle bit last; returns the TRB's physical address. */
uint64_t xhci_ring_push(struct xhci_ring *r, uint64_t param, uint32_t status, uint32_t control);
/* The TRB at a physical address on this ring, or NULL if it is not on it. */
struct xhci_trb *xhci_ring_at(const struct xhci_ring *r, uint64_t phys);

/* The consumer side of a one-segment event ring (4.9.4). */
struct xhci_event_ring {
	struct xhci_trb *trb;
	uint64_t phys;
	unsigned size, deq;
	uint32_t cycle; /* the consumer cycle state, 1 at start */
};
void xhci_event_ring_init(struct xhci_event_ring *e, void *mem, uint64_t phys, unsigned size);
/* The next event the controller wrote, or NULL; xhci_event_pop moves past it. */
const struct xhci_trb *xhci_event_peek(const struct xhci_event_ring *e);
void xhci_event_pop(struct xhci_event_ring *e);
/* The dequeue pointer to write to ERDP after consuming events. */
uint64_t xhci_event_deq_phys(const struct xhci_event_ring *e);

/*
 * Contexts (6.2): a Device Context is the Slot Context then 31 Endpoint
 * Contexts, each 32 or 64 bytes (HCCPARAMS1.CSZ); an Input Context puts
 * the Input Control Context before them. Endpoints are indexed by their
 * DCI (device context index, 4.5.1: 2 * number + (IN ? 1 : 0), where a
 * control endpoint counts as IN: EP0 is 1).
 */
#define XHCI_DCI(ep_addr)                                                              \
	((unsigned)(((ep_addr) & 0x0f) * 2 + ((((ep_addr) & 0x80) || !((ep_addr) & 0x0f)) ? 1 : 0)))
uint32_t *xhci_input_control(void *input, unsigned ctx_size);
uint32_t *xhci_input_slot(void *input, unsigned ctx_size);
uint32_t *xhci_input_ep(void *input, unsigned ctx_size, unsigned dci);
uint32_t *xhci_device_slot(void *dev, unsigned ctx_size);
uint32_t *xhci_device_ep(void *dev, unsigned ctx_size, unsigned dci);
unsigned xhci_context_bytes(unsigned ctx_size, bool input); /* the whole structure */

/* Slot Context fields (6.2.2). */
struct xhci_slot_fields {
	uint32_t route;          /* route string: hub ports, 4 bits a tier */
	unsigned speed;          /* port speed ID (1 full, 2 low, 3 high, 4 super) */
	unsigned entries;        /* last valid DCI */
	unsigned root_port;      /* root hub port, from 1 */
	bool hub;
	unsigned ports;          /* a hub's downstream ports */
	unsigned tt_slot, tt_port; /* a low/full-speed device behind a high-speed hub */
};
void xhci_slot_fill(uint32_t *slot, const struct xhci_slot_fields *f);
unsigned xhci_slot_state(const uint32_t *slot); /* 0 disabled, 1 default, 2 addressed, 3 configured */
unsigned xhci_slot_address(const uint32_t *slot);

/* Endpoint Context fields (6.2.3). */
enum { EP_CONTROL = 4, EP_INTERRUPT_IN = 7 };
void xhci_ep_fill(uint32_t *ep, unsigned type, unsigned max_packet, unsigned interval,
		  uint64_t dequeue, uint32_t cycle, unsigned avg_trb_len);
unsigned xhci_ep_state(const uint32_t *ep); /* 0 disabled, 1 running, 2 halted, 3 stopped, 4 error */
/* The Endpoint Context interval (a power of two of 125 us) of an endpoint
 * descriptor's bInterval at this speed (6.2.3.6): frames for full/low
 * speed, an exponent for high and super speed; clamped to the allowed range. */
unsigned xhci_interval(unsigned speed, unsigned binterval);
#endif
