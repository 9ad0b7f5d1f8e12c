/*
 * heap.h: the runtime's heap. It holds the objects that outlive the frame
 * that made them (Go's "moved to heap" values, closure environments) and
 * the runtime's own records (tasks, channel buffers, defer records).
 *
 * Objects up to RT_HEAP_SMALL_MAX bytes are rounded up to one of RT_HEAP_NCLASS
 * size classes and carved from spans of whole pages; larger ones get pages
 * of their own. Every object is 16-byte aligned and zeroed. heap.c draws
 * the layout and says why it is so.
 *
 * Single-threaded, and never called from the page-fault path (heap.c).
 */
#ifndef MORESTACK_HEAP_H
#define MORESTACK_HEAP_H
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

#define RT_HEAP_NCLASS 22      /* size classes, 16 to 2048 bytes */
#define RT_HEAP_SMALL_MAX 2048 /* larger objects get pages of their own */
#define RT_HEAP_ALIGN 16       /* of every object: enough for any C type on x86-64 */

/* A snapshot of the heap's counters, from rt_heap_get_stats. */
struct rt_heap_stats {
	size_t bytes_live;         /* bytes asked for by the live objects */
	size_t bytes_used;         /* the same objects rounded up to class size (large: to pages) */
	size_t objects_live;       /* small and large */
	size_t large_objects_live; /* objects over RT_HEAP_SMALL_MAX */
	uint64_t allocs;           /* rt_alloc calls that returned an object */
	uint64_t frees;            /* rt_free calls that freed an object */
	uint64_t failed_allocs;    /* rt_alloc calls that returned NULL */
	uint64_t errors;           /* bad frees and corruption reported to rt_heap_error_hook */
	size_t pages_held;         /* pages now held from plat_heap_pages, of every kind: */
	size_t pages_cached;       /*   in empty spans kept for reuse (at most one per class) */
	size_t pages_meta;         /*   in the span table (the rest hold objects) */
	size_t spans;              /* small-object spans, cached ones included */
	uint32_t class_size[RT_HEAP_NCLASS];     /* bytes per object of each class */
	uint32_t class_pages[RT_HEAP_NCLASS];    /* pages per span of each class */
	uint32_t class_per_span[RT_HEAP_NCLASS]; /* objects per span of each class */
	size_t class_objects[RT_HEAP_NCLASS];    /* live objects of each class */
	size_t class_spans[RT_HEAP_NCLASS];      /* spans of each class */
};

void *rt_alloc(size_t size);
void rt_free(void *p);
size_t rt_alloc_size(const void *p);
void rt_heap_get_stats(struct rt_heap_stats *st);
int rt_heap_check(char *err, size_t cap);

/*
 * Called with a message and the pointer at fault when rt_free is given a
 * pointer the heap did not hand out or already took back, or when the heap
 * finds a freed object written to. The heap has changed nothing when it
 * calls the hook, so a hook that returns leaves it consistent (rt_alloc
 * then rebuilds the damaged free list from its span's bitmap). The default
 * prints the message with plat_write and calls rt_fatal.
 */
extern void (*rt_heap_error_hook)(const char *msg, const void *p);

/* rt_fatal, which stops the machine (kernel) or the process (host) after
 * a fatal runtime error, is declared in platform.h: every platform defines it. */

#endif
