/*
 * chan.h: Go-style channels between tasks: unbuffered (a send waits for
 * its receiver) or buffered (a ring of cap elements), blocking send and
 * receive, close. Values are copied in and out, elem_size bytes each.
 */
#ifndef MORESTACK_CHAN_H
#define MORESTACK_CHAN_H
#include <stdbool.h>
#include <stddef.h>

struct rt_task;

struct rt_chan {
	size_t elem_size, cap;
	size_t len, head;            /* buffered elements: [head, head+len) mod cap */
	unsigned char *buf;
	bool closed;
	struct rt_task *sendq, *sendq_tail; /* tasks parked in rt_chan_send, oldest first */
	struct rt_task *recvq, *recvq_tail; /* tasks parked in rt_chan_recv */
};

struct rt_chan *rt_chan_make(size_t elem_size, size_t cap);
void rt_chan_send(struct rt_chan *c, const void *elem);
bool rt_chan_recv(struct rt_chan *c, void *elem);
void rt_chan_close(struct rt_chan *c);
void rt_chan_free(struct rt_chan *c);
#endif
