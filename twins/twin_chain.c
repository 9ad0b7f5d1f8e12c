/*
 * twin_chain.c: the linked-frame recursion, shared by the shell's `grow`,
 * `spawn` and `churn`, the Linux port's stack tests and `make bench`'s
 * deep_recursion (Go's twin: descend in bench/baselines/go/recursion.go).
 *
 * Every frame holds a link to its caller's link, so the chain is a list of
 * pointers into the stack, the very words a stack move must adjust:
 *
 *     stack top  +-------------------------+
 *                | depth 0: up = NULL      | <-+
 *                +-------------------------+   |
 *                | depth 1: up = ----------+---+ <-+
 *                +-------------------------+       |
 *                | depth 2: up = ----------+-------+
 *                +-------------------------+
 *                  ... grows down; each move adjusts every `up`
 *
 * Each link also holds its depth, so a walk from any frame to the top can
 * tell a link that moved wrong from one that did not move (depths count
 * down by one, every link points up the stack). The recursion returns the
 * xor of chain_mix(depth) read back from every frame's link, so a frame
 * changed while the frames below it ran shows in the result as well.
 */
#include "twins.h"

#include "rt.h"

uint64_t chain_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* True if every link from l to the top is where and what it should be. */
static bool chain_ok(const struct chain_link *l)
{
	uint64_t d = l->depth;
	for (; l; l = l->up, d--)
		if (l->depth != d || (l->up && (uintptr_t)l->up <= (uintptr_t)l))
			return false;
	return d == (uint64_t)-1;
}

static void check_chain(struct chain_job *job, const struct chain_link *l)
{
	job->checks++;
	job->broken += !chain_ok(l);
}

/* After every growth the recursion sees, walk the whole chain. */
static __attribute__((noinline)) void check_if_moved(struct chain_job *job, const struct chain_link *l)
{
	struct rt_task *t = rt_current();
	if (t->stats.grows != job->grows_seen) { /* the stack just moved under us */
		job->grows_seen = t->stats.grows;
		check_chain(job, l);
	}
}

static __attribute__((noinline)) uint64_t at_bottom(struct chain_job *job, const struct chain_link *l)
{
	check_chain(job, l);
	if (job->park)
		rt_park();
	return 0;
}

static uint64_t descend(struct chain_job *job, struct chain_link *up, uint64_t depth);
static uint64_t descend_padded(struct chain_job *job, struct chain_link *up, uint64_t depth);

/*
 * One frame. Written once, compiled twice: descend, whose frame holds only
 * the link and what the call needs (deep_recursion measures it against
 * Go's), and descend_padded, whose frame also holds frame_bytes of cleared
 * alloca (an alloca in the one function would make every frame larger).
 */
static inline __attribute__((always_inline)) uint64_t frame(struct chain_job *job, struct chain_link *up,
							     uint64_t depth, bool padded)
{
	struct chain_link me = { up, depth };
	(void)up;
	if (padded) { /* a big frame: the probes touch each page on the way down */
		volatile uint8_t *pad = RT_ALLOCA(job->frame_bytes);
		pad[0] = (uint8_t)depth;
		pad[job->frame_bytes - 1] = (uint8_t)depth;
	}
	if (job->check_moves)
		check_if_moved(job, &me);
	uint64_t below;
	if (depth + 1 == job->frames)
		below = at_bottom(job, &me);
	else if (padded)
		below = descend_padded(job, &me, depth + 1);
	else
		below = descend(job, &me, depth + 1);
	/* Back from below: this link must still be this frame's, pointing at the
	 * caller's (read from the stack, not from registers kept across the
	 * call, so a frame holds nothing but its link). A wrong one spoils the
	 * result. */
	uint64_t mine = chain_mix(me.depth);
	if ((me.up ? (uintptr_t)me.up <= (uintptr_t)&me || me.up->depth + 1 != me.depth : me.depth != 0))
		mine = ~mine;
	return below ^ mine;
}

static __attribute__((noinline)) uint64_t descend(struct chain_job *job, struct chain_link *up,
						  uint64_t depth)
{
	return frame(job, up, depth, false);
}

static __attribute__((noinline)) uint64_t descend_padded(struct chain_job *job, struct chain_link *up,
							 uint64_t depth)
{
	return frame(job, up, depth, true);
}

uint64_t chain_descend(struct chain_job *job)
{
	job->grows_seen = rt_current()->stats.grows;
	if (!job->frames)
		return 0;
	return job->frame_bytes ? descend_padded(job, NULL, 0) : descend(job, NULL, 0);
}

uint64_t chain_task(uint64_t job)
{
	return chain_descend((struct chain_job *)(uintptr_t)job);
}

uint64_t chain_expected(uint64_t frames)
{
	uint64_t v = 0;
	for (uint64_t d = 0; d < frames; d++)
		v ^= chain_mix(d);
	return v;
}
