/*
 * chan.c: channels, after Go's runtime/chan.go.
 *
 * A task that must wait links itself into the channel's send or receive
 * queue with t->wait_elem pointing at its element, which is usually a
 * local variable in its own stack (Go's sudog.elem). The partner copies
 * straight to or from there and makes it runnable. A parked task's stack
 * may shrink (move) while it waits; stack.c adjusts wait_elem with it.
 *
 * Misuse kills the task with Go's panic words: send on a closed channel,
 * close of a closed channel. Channels must be used from tasks, except
 * non-blocking cases (a send into buffer room, a receive of a buffered
 * value) which also work from the scheduler context.
 */
#include "chan.h"

#include "heap.h"
#include "rt.h"

#include "kstring.h"

_Noreturn void rt_die(const char *panic_msg);

/* Makes a channel of cap elements of elem_size bytes (cap 0: unbuffered). NULL if out of memory. */
struct rt_chan *chan_make(size_t elem_size, size_t cap)
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

void chan_free(struct rt_chan *c)
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

/* Parks the current task on a queue with its element; returns the waker's verdict. */
static bool wait_on(struct rt_task **head, struct rt_task **tail, void *elem)
{
	struct rt_task *self = rt_current();
	if (!self)
		rt_die("channel operation would block outside a task");
	self->wait_elem = elem;
	self->wait_ok = 0;
	enqueue(head, tail, self);
	rt_park();
	self->wait_elem = NULL;
	return self->wait_ok;
}

/* Sends a copy of *elem; waits for room (or, unbuffered, for a receiver). */
void chan_send(struct rt_chan *c, const void *elem)
{
	if (c->closed)
		rt_die("send on closed channel");
	struct rt_task *r = dequeue(&c->recvq, &c->recvq_tail);
	if (r) { /* a receiver waits: hand over directly (the buffer is empty) */
		memcpy(r->wait_elem, elem, c->elem_size);
		r->wait_ok = 1;
		rt_ready(r);
		return;
	}
	if (c->len < c->cap) {
		memcpy(slot(c, c->len++), elem, c->elem_size);
		return;
	}
	if (!wait_on(&c->sendq, &c->sendq_tail, (void *)elem))
		rt_die("send on closed channel");
}

/*
 * Receives into *elem; waits for a value. Returns true, or false (and a
 * zeroed *elem) once the channel is closed and drained.
 */
bool chan_recv(struct rt_chan *c, void *elem)
{
	struct rt_task *s = dequeue(&c->sendq, &c->sendq_tail);
	if (s) {
		if (c->cap == 0) {
			memcpy(elem, s->wait_elem, c->elem_size);
		} else { /* full buffer: take the oldest, the sender's value joins the tail */
			memcpy(elem, slot(c, 0), c->elem_size);
			memcpy(slot(c, 0), s->wait_elem, c->elem_size);
			c->head = (c->head + 1) % c->cap;
		}
		s->wait_ok = 1;
		rt_ready(s);
		return true;
	}
	if (c->len) {
		memcpy(elem, slot(c, 0), c->elem_size);
		c->head = (c->head + 1) % c->cap;
		c->len--;
		return true;
	}
	if (c->closed) {
		memset(elem, 0, c->elem_size);
		return false;
	}
	return wait_on(&c->recvq, &c->recvq_tail, elem);
}

/* Closes the channel: waiting receivers get (zero, false); waiting senders panic. */
void chan_close(struct rt_chan *c)
{
	if (c->closed)
		rt_die("close of closed channel");
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
}
