/*
 * xhci_ring.c: TRB rings, the event ring and context layout (see
 * xhci_ring.h), with no hardware access, so the host tests link it.
 *
 * Invariants of a producer ring (xHCI 1.2, 4.9.2):
 *   - TRBs [enq, size-1) the controller does not own: their cycle bit is
 *     not the producer cycle state; the TRB at enq is written completely,
 *     then its cycle bit is set to the producer state, last (a compiler
 *     barrier: x86 keeps stores in order, the controller snoops);
 *   - trb[size-1] is a Link TRB to trb[0] with Toggle Cycle: when enq
 *     reaches it, it is handed over with the current cycle and the cycle
 *     state flips, so TRBs left from the last lap read as not ready.
 * Of the event ring (4.9.4): the controller writes events with its own
 * cycle state, starting at 1; an event whose cycle bit equals the consumer
 * state is new; at the end of the segment the state flips and the
 * dequeue index wraps.
 */
#include "xhci_ring.h"

static void barrier(void) { __asm__ volatile("" ::: "memory"); }

static void zero(void *p, unsigned long n)
{
	volatile uint8_t *b = p;
	while (n--)
		*b++ = 0;
}

void xhci_ring_init(struct xhci_ring *r, void *mem, uint64_t phys, unsigned size)
{
	zero(mem, (unsigned long)size * sizeof(struct xhci_trb));
	r->trb = mem;
	r->phys = phys;
	r->size = size;
	r->enq = 0;
	r->cycle = 1;
	r->trb[size - 1].param = phys;
	r->trb[size - 1].control = TRB_TYPE(TRB_LINK) | TRB_TC; /* cycle 0: not yet the controller's */
}

uint64_t xhci_ring_push(struct xhci_ring *r, uint64_t param, uint32_t status, uint32_t control)
{
	struct xhci_trb *t = &r->trb[r->enq];
	uint64_t at = r->phys + (uint64_t)r->enq * sizeof *t;
	t->param = param;
	t->status = status;
	barrier();
	t->control = (control & ~TRB_CYCLE) | r->cycle;
	barrier();
	if (++r->enq == r->size - 1) {
		struct xhci_trb *link = &r->trb[r->enq];
		link->control = (link->control & ~TRB_CYCLE) | r->cycle;
		barrier();
		r->enq = 0;
		r->cycle ^= 1;
	}
	return at;
}

struct xhci_trb *xhci_ring_at(const struct xhci_ring *r, uint64_t phys)
{
	if (phys < r->phys || phys >= r->phys + (uint64_t)r->size * sizeof(struct xhci_trb) ||
	    (phys - r->phys) % sizeof(struct xhci_trb))
		return 0;
	return &r->trb[(phys - r->phys) / sizeof(struct xhci_trb)];
}

void xhci_event_ring_init(struct xhci_event_ring *e, void *mem, uint64_t phys, unsigned size)
{
	zero(mem, (unsigned long)size * sizeof(struct xhci_trb));
	e->trb = mem;
	e->phys = phys;
	e->size = size;
	e->deq = 0;
	e->cycle = 1;
}

const struct xhci_trb *xhci_event_peek(const struct xhci_event_ring *e)
{
	const volatile struct xhci_trb *t = &e->trb[e->deq];
	if ((t->control & TRB_CYCLE) != e->cycle)
		return 0;
	barrier(); /* the rest of the event after its cycle bit */
	return (const struct xhci_trb *)t;
}

void xhci_event_pop(struct xhci_event_ring *e)
{
	if (++e->deq == e->size) {
		e->deq = 0;
		e->cycle ^= 1;
	}
}

uint64_t xhci_event_deq_phys(const struct xhci_event_ring *e)
{
	return e->phys + (uint64_t)e->deq * sizeof(struct xhci_trb);
}

/* ---- contexts (6.2) ---- */

uint32_t *xhci_input_control(void *input, unsigned ctx_size) { (void)ctx_size; return input; }
uint32_t *xhci_input_slot(void *input, unsigned ctx_size)
{
	return (uint32_t *)((uint8_t *)input + ctx_size);
}
uint32_t *xhci_input_ep(void *input, unsigned ctx_size, unsigned dci)
{
	return (uint32_t *)((uint8_t *)input + (1 + dci) * ctx_size);
}
uint32_t *xhci_device_slot(void *dev, unsigned ctx_size) { (void)ctx_size; return dev; }
uint32_t *xhci_device_ep(void *dev, unsigned ctx_size, unsigned dci)
{
	return (uint32_t *)((uint8_t *)dev + dci * ctx_size);
}
unsigned xhci_context_bytes(unsigned ctx_size, bool input) { return (input ? 33 : 32) * ctx_size; }

void xhci_slot_fill(uint32_t *s, const struct xhci_slot_fields *f)
{
	s[0] = (f->route & 0xfffff) | (f->speed & 0xf) << 20 | (f->hub ? 1u << 26 : 0) |
	       (f->entries & 0x1f) << 27;
	s[1] = (f->root_port & 0xff) << 16 | (f->ports & 0xff) << 24;
	s[2] = (f->tt_slot & 0xff) | (f->tt_port & 0xff) << 8; /* interrupter target 0 */
	s[3] = 0;
}

unsigned xhci_slot_state(const uint32_t *slot) { return slot[3] >> 27; }
unsigned xhci_slot_address(const uint32_t *slot) { return slot[3] & 0xff; }

void xhci_ep_fill(uint32_t *ep, unsigned type, unsigned max_packet, unsigned interval,
		  uint64_t dequeue, uint32_t cycle, unsigned avg_trb_len)
{
	unsigned esit = type == EP_CONTROL ? 0 : max_packet; /* max burst 0, mult 0 */
	ep[0] = (interval & 0xff) << 16;
	ep[1] = 3u << 1 | (type & 7) << 3 | (max_packet & 0xffff) << 16; /* CErr 3 */
	ep[2] = (uint32_t)(dequeue & ~0xfUL) | (cycle & 1);
	ep[3] = (uint32_t)(dequeue >> 32);
	ep[4] = (avg_trb_len & 0xffff) | (esit & 0xffff) << 16;
}

unsigned xhci_ep_state(const uint32_t *ep) { return ep[0] & 7; }

unsigned xhci_interval(unsigned speed, unsigned binterval)
{
	unsigned v;
	if (speed == 1 || speed == 2) { /* full/low speed: bInterval frames of 1 ms = 8 << k */
		if (binterval == 0)
			binterval = 1;
		v = 3;
		while (v < 10 && (1u << (v + 1)) <= binterval * 8u)
			v++;
		return v;
	}
	/* high and super speed: 2^(bInterval-1) microframes */
	if (binterval == 0)
		binterval = 1;
	if (binterval > 16)
		binterval = 16;
	return binterval - 1;
}

const char *xhci_completion_name(unsigned code)
{
	switch (code) {
	case CC_SUCCESS: return "success";
	case CC_DATA_BUFFER: return "data buffer error";
	case CC_BABBLE: return "babble detected";
	case CC_TRANSACTION: return "USB transaction error";
	case CC_TRB: return "TRB error";
	case CC_STALL: return "stall";
	case CC_NO_SLOTS: return "no slots available";
	case CC_SLOT_NOT_ENABLED: return "slot not enabled";
	case CC_SHORT_PACKET: return "short packet";
	case CC_PARAMETER: return "parameter error";
	case CC_CONTEXT_STATE: return "context state error";
	default: return "error";
	}
}
