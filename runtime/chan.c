/*
 * chan.c: channels, after Go's runtime/chan.go.
 *
 * A task that must wait links itself into the channel's send or receive
 * queue with t->wait_elem pointing at its element, which is usually a
 * local variable in its own stack (Go's sudog.elem). The partner copies
 * straight to or from there and makes it runnable. A parked task's stack
 * may shrink (move) while it waits; stackmove.c adjusts wait_elem with it.
 *
 * Every operation runs on the runtime stack (rt_systemstack; task.c's
 * invariant 1): the partner's element is in another task's stack, and
 * the queues are runtime state, so no stack may move while they are in
 * hand. The task's side only packs its arguments, and parks (rt_park_on)
 * when the operation must wait.
 *
 * A nil channel blocks forever, as in Go.
 *
 * Misuse kills the task with Go's panic words: send on a closed channel,
 * close of a closed channel. Channels must be used from tasks, except
 * non-blocking cases (a send into buffer room, a receive of a buffered
 * value) which also work from the scheduler context.
 */
#include "chan.h"

#include "heap.h"
#include "internal.h"
#include "rt.h"

#include "kstring.h"

/* Makes a channel of cap elements of elem_size bytes (cap 0: unbuffered). NULL if out of memory. */
struct rt_chan *rt_chan_make(size_t elem_size, size_t cap)
{
	if (elem_size == 0 || elem_size > 65536 || cap > (1UL << 24))
		return NULL;
	struct rt_chan *c = rt_alloc(sizeof *c);
	if (!c)
		return NULL;
	c->elem_size = elem_size;
	c->cap = cap;
	if (cap && !(c->buf = rt_alloc(elem_size * cap))) {
		rt_free(c);
		return NULL;
	}
	return c;
}

void rt_chan_free(struct rt_chan *c)
{
	if (!c)
		return;
	rt_free(c->buf);
	rt_free(c);
}

static void enqueue(struct rt_task **head, struct rt_task **tail, struct rt_task *t)
{
	t->next = NULL;
	if (*tail)
		(*tail)->next = t;
	else
		*head = t;
	*tail = t;
}

static struct rt_task *dequeue(struct rt_task **head, struct rt_task **tail)
{
	struct rt_task *t = *head;
	if (t) {
		*head = t->next;
		if (!*head)
			*tail = NULL;
		t->next = NULL;
	}
	return t;
}

static unsigned char *slot(struct rt_chan *c, size_t i)
{
	return c->buf + ((c->head + i) % c->cap) * c->elem_size;
}

enum op_result { OP_DONE, OP_WAIT, OP_CLOSED };

struct chan_op {
	struct rt_chan *c;
	void *elem;
	enum op_result result;
	bool received;            /* rt_chan_recv: a value came (not a close) */
};

/* Puts self on a wait queue with its element (from a park commit). */
/* Takes self out of c's queue (a stop ends self: preempt.c). */
static void wait_cancel(struct rt_task *self, void *owner)
{
	struct rt_chan *c = owner;
	struct rt_task **heads[2] = { &c->sendq, &c->recvq }, **tails[2] = { &c->sendq_tail, &c->recvq_tail };
	for (int q = 0; q < 2; q++) {
		struct rt_task *prev = NULL;
		for (struct rt_task *t = *heads[q]; t; prev = t, t = t->next) {
			if (t != self)
				continue;
			if (prev)
				prev->next = t->next;
			else
				*heads[q] = t->next;
			if (*tails[q] == t)
				*tails[q] = prev;
			t->next = NULL;
			self->wait_elem = NULL;
			return;
		}
	}
}

static void wait_on(struct rt_chan *c, struct rt_task **head, struct rt_task **tail,
		    struct rt_task *self, void *elem)
{
	self->wait_elem = elem;
	self->wait_ok = 0;
	self->wait_cancel = wait_cancel;
	self->wait_owner = c;
	enqueue(head, tail, self);
}

/* On the runtime stack: a send that completes now, or OP_WAIT. */
static enum op_result send_now(struct chan_op *op)
{
	struct rt_chan *c = op->c;
	if (c->closed)
		return OP_CLOSED;
	/* LAB chan BEGIN: a receiver waits (the buffer is empty): give it the value directly, wake it */
	struct rt_task *r = dequeue(&c->recvq, &c->recvq_tail);
	if (r) {
		memcpy(r->wait_elem, op->elem, c->elem_size);
		r->wait_ok = 1;
		rt_ready(r);
		return OP_DONE;
	}
	/* LAB chan ELSE
	LAB chan END */
	if (c->len < c->cap) {
		memcpy(slot(c, c->len++), op->elem, c->elem_size);
		return OP_DONE;
	}
	return OP_WAIT;
}

static uint64_t send_sys(void *arg)
{
	struct chan_op *op = arg;
	op->result = send_now(op);
	return 0;
}

static bool send_commit(struct rt_task *self, void *arg)
{
	struct chan_op *op = arg;
	op->result = send_now(op);
	if (op->result != OP_WAIT)
		return false;
	wait_on(op->c, &op->c->sendq, &op->c->sendq_tail, self, op->elem);
	return true;
}

static bool block_forever(struct rt_task *self, void *arg)
{
	(void)self;
	(void)arg;
	return true;
}

/* Parks the current task for good: what Go does on a nil channel. */
static _Noreturn void wait_forever(const char *reason)
{
	if (!rt_current())
		rt_die("channel operation on a nil channel outside a task would block forever");
	for (;;)
		rt_park_on(block_forever, NULL, reason);
}

/* Sends a copy of *elem; waits for room (or, unbuffered, for a receiver). */
void rt_chan_send(struct rt_chan *c, const void *elem)
{
	struct chan_op op = { c, (void *)elem, OP_WAIT, false };
	if (!c)
		wait_forever("chan send (nil chan)");
	rt_systemstack(send_sys, &op);
	if (op.result == OP_WAIT) {
		if (!rt_current())
			rt_die("channel operation would block outside a task");
		rt_park_on(send_commit, &op, "chan send");
		if (op.result == OP_WAIT) /* woken by a receiver, or by close */
			op.result = rt_current()->wait_ok ? OP_DONE : OP_CLOSED;
		rt_current()->wait_elem = NULL;
	}
	if (op.result == OP_CLOSED)
		rt_die("send on closed channel");
}

/* On the runtime stack: a receive that completes now, or OP_WAIT. */
static enum op_result recv_now(struct chan_op *op)
{
	struct rt_chan *c = op->c;
	/* LAB chan BEGIN: a sender waits: take its value (unbuffered), or the oldest and let its value join the full buffer's tail; wake it */
	struct rt_task *s = dequeue(&c->sendq, &c->sendq_tail);
	if (s) {
		if (c->cap == 0) {
			memcpy(op->elem, s->wait_elem, c->elem_size);
		} else { /* full buffer: take the oldest, the sender's value joins the tail */
			memcpy(op->elem, slot(c, 0), c->elem_size);
			memcpy(slot(c, 0), s->wait_elem, c->elem_size);
			c->head = (c->head + 1) % c->cap;
		}
		s->wait_ok = 1;
		rt_ready(s);
		op->received = true;
		return OP_DONE;
	}
	/* LAB chan ELSE
	LAB chan END */
	if (c->len) {
		memcpy(op->elem, slot(c, 0), c->elem_size);
		c->head = (c->head + 1) % c->cap;
		c->len--;
		op->received = true;
		return OP_DONE;
	}
	if (c->closed) {
		memset(op->elem, 0, c->elem_size);
		return OP_CLOSED;
	}
	return OP_WAIT;
}

static uint64_t recv_sys(void *arg)
{
	struct chan_op *op = arg;
	op->result = recv_now(op);
	return 0;
}

static bool recv_commit(struct rt_task *self, void *arg)
{
	struct chan_op *op = arg;
	op->result = recv_now(op);
	if (op->result != OP_WAIT)
		return false;
	wait_on(op->c, &op->c->recvq, &op->c->recvq_tail, self, op->elem);
	return true;
}

/*
 * Receives into *elem; waits for a value. Returns true, or false (and a
 * zeroed *elem) once the channel is closed and drained.
 */
bool rt_chan_recv(struct rt_chan *c, void *elem)
{
	struct chan_op op = { c, elem, OP_WAIT, false };
	if (!c)
		wait_forever("chan receive (nil chan)");
	rt_systemstack(recv_sys, &op);
	if (op.result == OP_WAIT) {
		if (!rt_current())
			rt_die("channel operation would block outside a task");
		rt_park_on(recv_commit, &op, "chan receive");
		if (op.result == OP_WAIT) /* woken by a sender (a value) or by close (zeroes) */
			op.received = rt_current()->wait_ok;
		rt_current()->wait_elem = NULL;
	}
	return op.received;
}

static uint64_t close_sys(void *arg)
{
	struct rt_chan *c = arg;
	if (c->closed)
		return 1;
	c->closed = true;
	struct rt_task *t;
	while ((t = dequeue(&c->recvq, &c->recvq_tail))) {
		memset(t->wait_elem, 0, c->elem_size);
		t->wait_ok = 0;
		rt_ready(t);
	}
	while ((t = dequeue(&c->sendq, &c->sendq_tail))) {
		t->wait_ok = 0;
		rt_ready(t);
	}
	return 0;
}

/* Closes the channel: waiting receivers get (zero, false); waiting senders panic. */
void rt_chan_close(struct rt_chan *c)
{
	if (!c)
		rt_die("close of nil channel");
	if (rt_systemstack(close_sys, c))
		rt_die("close of closed channel");
}
