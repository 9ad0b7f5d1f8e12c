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
 * Each link also holds its depth and chain_mix(depth), so a walk from any
 * frame to the top can tell a link that moved wrong from one that did not
 * move. The recursion returns the xor of every frame's check, so a frame
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
		if (l->depth != d || l->check != chain_mix(d) ||
		    (l->up && (uintptr_t)l->up <= (uintptr_t)l))
			return false;
	return d == (uint64_t)-1;
}

static void check_chain(struct chain_job *job, const struct chain_link *l)
{
	job->checks++;
	job->broken += !chain_ok(l);
}

static __attribute__((noinline)) uint64_t descend(struct chain_job *job, struct chain_link *up,
						  uint64_t depth)
{
	struct chain_link me = { up, depth, chain_mix(depth) };
	if (job->frame_bytes) { /* a big frame: the probes touch each page on the way down */
		volatile uint8_t *pad = RT_ALLOCA(job->frame_bytes);
		pad[0] = (uint8_t)depth;
		pad[job->frame_bytes - 1] = (uint8_t)depth;
	}
	if (job->check_moves) {
		struct rt_task *t = rt_current();
		if (t->stats.grows != job->grows_seen) { /* the stack just moved under us */
			job->grows_seen = t->stats.grows;
			check_chain(job, &me);
		}
	}
	uint64_t below;
	if (depth + 1 == job->frames) {
		check_chain(job, &me);
		if (job->park)
			rt_park();
		below = 0;
	} else {
		below = descend(job, &me, depth + 1);
	}
	if (me.up != up || me.depth != depth || me.check != chain_mix(depth))
		job->broken++;
	return below ^ me.check;
}

uint64_t chain_descend(struct chain_job *job)
{
	job->grows_seen = rt_current()->stats.grows;
	return job->frames ? descend(job, NULL, 0) : 0;
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
