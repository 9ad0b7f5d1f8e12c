/*
 * stackfuzz.c: the randomized differential workload (see stackfuzz.h).
 *
 * Who talks to whom, all decided by the seed:
 *
 *     worker 0 ..... worker N-1          each: a list of `ops` operations
 *        |  \            |  \
 *        |   `--- req ---+---`--> hub    req: ONE unbuffered channel; the hub
 *        |<-- reply[0]   |<-- reply[N-1]      answers on each worker's own
 *        |               |                    reply channel (capacity 1)
 *        `---- pool -----'                 pool: one buffered channel
 *                                          (capacity 1 to 4): send, then
 *                                          receive whatever is there
 *
 * Neither pattern can deadlock: a worker waits on req only until the hub
 * takes its request, the hub never waits on a reply channel (each worker
 * has at most one answer outstanding), and a worker receiving from pool
 * has sent one value there itself first. So a task left blocked at the
 * end is the runtime's fault, and so is any value that arrives wrong.
 *
 * What is checked, and against what:
 *   - every frame of every recursion holds {up, depth, check} and an alloca
 *     pad of a seeded size (0 to 768 bytes, sometimes just under or over a
 *     page) filled with a seeded pattern; the whole chain and every pad are
 *     checked at the bottom, and each frame again on the way back;
 *   - every channel value is 32 bytes {from, seq, heap pointer, check}: the
 *     check is a hash of the rest and of the heap cell it points at;
 *   - the hub's answer is a function of the request, and the request's
 *     heap cell counts the worker's exchanges;
 *   - each worker returns a running hash of every outcome, which the model
 *     (model_worker, the same seed with no runtime) predicts exactly;
 *   - pool values are summed on both sides, and stack memory must be back.
 */
#include "stackfuzz.h"

#include "chan.h"
#include "heap.h"
#include "rt.h"

#include "format.h"
#include "kstring.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	x ^= x >> 33;
	return x;
}

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix(r->s);
}

static uint64_t rnd_below(struct rng *r, uint64_t n) { return rnd(r) % n; }

enum op { OP_RECURSE, OP_YIELD, OP_EXCHANGE, OP_POOL, OP_SPAWN, OP_JOIN, OP_COUNT };

/* What a worker does at the bottom of a recursion, besides checking. */
enum bottom { AT_BOTTOM_NOTHING, AT_BOTTOM_YIELD, AT_BOTTOM_EXCHANGE, AT_BOTTOM_POOL };

struct msg {
	uint64_t from, seq;
	const uint64_t *cell; /* a heap cell of the sender's */
	uint64_t check;
};

struct worker {
	uint64_t id, seed;
	uint64_t *cell;            /* cell[0]: a tag; cell[1]: exchanges answered */
	uint64_t seq;
	uint64_t bad;              /* wrong frames or values seen */
	struct rt_task *task;
	struct rt_task *child;     /* spawned, not yet joined */
	uint64_t child_seed, child_depth;
};

static struct {
	struct rt_chan *req, *pool, **reply;
	struct worker *workers;
	uint64_t nworkers, max_depth, ops;
	uint64_t exchanges;        /* how many requests the hub must answer */
	uint64_t pool_sent, pool_received; /* sums of the pool values' checks */
	uint64_t values, frames, children, hub_bad;
	bool hibernate;            /* this seed's yields first put the parked tasks to sleep */
	uint64_t hibernated;       /* how many went to sleep so */
	char first_error[160];
} F;

/* A yield; in half the seeds, every parked task hibernates first (its
 * stack goes, its used bytes wait in an image, it wakes when readied):
 * the workload's checks must not see it. */
static void yield(void)
{
	if (F.hibernate)
		F.hibernated += rt_hibernate_parked();
	rt_yield();
}

static void fail(uint64_t *counter, const char *what, uint64_t a, uint64_t b)
{
	(*counter)++;
	if (!F.first_error[0])
		ksnprintf(F.first_error, sizeof F.first_error, "%s (%#lx, %#lx)", what, a, b);
}

static uint64_t msg_check(uint64_t from, uint64_t seq, uint64_t cell_tag)
{
	return mix(from * 0x100000001b3ULL ^ mix(seq) ^ cell_tag);
}

static uint64_t answer_of(uint64_t check) { return mix(check ^ 0x5bd1e9955bd1e995ULL); }

/* ---- the recursion: frames that point at their callers, with alloca pads ---- */

struct frame {
	struct frame *up;
	uint64_t depth, check;
	uint8_t *pad;
	uint64_t padlen;
};

/* The pad of frame `depth` of a recursion seeded `seed`: mostly 0..768
 * bytes, one in eight just under or over a page. */
static uint64_t pad_len(uint64_t seed, uint64_t depth)
{
	uint64_t h = mix(seed * 31 + depth);
	if ((h & 7) == 0)
		return 4080 + (h >> 8) % 32;
	return (h >> 8) % 769;
}

static uint8_t pad_byte(uint64_t seed, uint64_t depth, uint64_t i)
{
	return (uint8_t)(mix(seed ^ depth) >> ((i & 7) * 8)) ^ (uint8_t)i;
}

static uint64_t frame_check(uint64_t seed, uint64_t depth) { return mix(seed ^ (depth << 20) ^ 0xf00d); }

static int frame_ok(const struct frame *f, uint64_t seed)
{
	if (f->check != frame_check(seed, f->depth) || f->padlen != pad_len(seed, f->depth))
		return 0;
	for (uint64_t i = 0; i < f->padlen; i++)
		if (f->pad[i] != pad_byte(seed, f->depth, i))
			return 0;
	return 1;
}

static void exchange(struct worker *w, uint64_t *acc);
static void pool_pass(struct worker *w);

__attribute__((noinline)) static uint64_t recurse(struct worker *w, struct frame *up, uint64_t depth,
						  uint64_t target, uint64_t seed, enum bottom at_bottom,
						  uint64_t *acc)
{
	struct frame me = { up, depth, frame_check(seed, depth), NULL, pad_len(seed, depth) };
	me.pad = RT_ALLOCA(me.padlen);
	for (uint64_t i = 0; i < me.padlen; i++)
		me.pad[i] = pad_byte(seed, depth, i);
	uint64_t below;
	if (depth == target) {
		switch (at_bottom) {
		case AT_BOTTOM_YIELD: yield(); break;
		case AT_BOTTOM_EXCHANGE: exchange(w, acc); break;
		case AT_BOTTOM_POOL: pool_pass(w); break;
		default: break;
		}
		uint64_t d = depth;
		for (const struct frame *f = &me; f; f = f->up, d--) {
			F.frames++;
			if (f->depth != d || !frame_ok(f, seed) || (f->up && (uintptr_t)f->up <= (uintptr_t)f)) {
				fail(&w->bad, "a frame of the chain is wrong", (uintptr_t)f, d);
				break;
			}
		}
		below = 0;
	} else {
		below = recurse(w, &me, depth + 1, target, seed, at_bottom, acc);
	}
	F.frames++;
	if (me.up != up || me.depth != depth || !frame_ok(&me, seed))
		fail(&w->bad, "a frame changed under its function", (uintptr_t)&me, depth);
	return below ^ me.check;
}

static uint64_t recursion_sum(uint64_t target, uint64_t seed)
{
	uint64_t v = 0;
	for (uint64_t d = 0; d <= target; d++)
		v ^= frame_check(seed, d);
	return v;
}

/* ---- channels ---- */

static void exchange(struct worker *w, uint64_t *acc)
{
	struct msg m = { w->id, w->seq++, w->cell, 0 }, back;
	m.check = msg_check(m.from, m.seq, w->cell[0]);
	uint64_t answered = w->cell[1];
	rt_chan_send(F.req, &m);
	if (!rt_chan_recv(F.reply[w->id], &back))
		fail(&w->bad, "reply channel closed", w->id, m.seq);
	F.values++;
	if (back.from != m.from || back.seq != m.seq || back.cell != w->cell || back.check != answer_of(m.check))
		fail(&w->bad, "a wrong answer from the hub", back.seq, back.check);
	if (w->cell[1] != answered + 1)
		fail(&w->bad, "the hub did not count the exchange", w->cell[1], answered);
	*acc = mix(*acc ^ back.check);
}

static void pool_pass(struct worker *w)
{
	struct msg m = { w->id, w->seq++, w->cell, 0 }, got;
	m.check = msg_check(m.from, m.seq, w->cell[0]);
	F.pool_sent += m.check;
	rt_chan_send(F.pool, &m);
	if (!rt_chan_recv(F.pool, &got))
		fail(&w->bad, "pool channel closed", w->id, m.seq);
	F.values++;
	if (got.from >= F.nworkers || got.cell != F.workers[got.from].cell ||
	    got.check != msg_check(got.from, got.seq, got.cell[0]))
		fail(&w->bad, "a wrong value from the pool", got.from, got.check);
	F.pool_received += got.check;
}

/* The hub: answers every request, recursing now and then so its stack moves too. */
static uint64_t hub(uint64_t seed)
{
	struct rng r = { seed };
	struct worker self = { .id = ~0UL };
	uint64_t acc = 0;
	for (uint64_t i = 0; i < F.exchanges; i++) {
		struct msg m;
		if (rnd_below(&r, 4) == 0) {
			uint64_t depth = rnd_below(&r, F.max_depth), rseed = rnd(&r);
			uint64_t sum = recurse(&self, NULL, 0, depth, rseed, AT_BOTTOM_NOTHING, &acc);
			if (sum != recursion_sum(depth, rseed))
				fail(&F.hub_bad, "the hub's recursion returned a wrong sum", sum, depth);
		}
		if (!rt_chan_recv(F.req, &m)) {
			fail(&F.hub_bad, "request channel closed", i, 0);
			break;
		}
		F.values++;
		if (m.from >= F.nworkers || m.cell != F.workers[m.from].cell ||
		    m.check != msg_check(m.from, m.seq, m.cell[0])) {
			fail(&F.hub_bad, "a wrong request at the hub", m.from, m.check);
			continue;
		}
		F.workers[m.from].cell[1]++;
		m.check = answer_of(m.check);
		rt_chan_send(F.reply[m.from], &m);
	}
	F.hub_bad += self.bad;
	return acc;
}

/* ---- children: spawned by a worker, joined by it ---- */

static uint64_t child_main(uint64_t arg)
{
	struct worker *w = (struct worker *)arg; /* the parent: read its child_* fields only */
	struct worker me = { .id = ~0UL };
	uint64_t acc = 0;
	uint64_t sum = recurse(&me, NULL, 0, w->child_depth, w->child_seed, AT_BOTTOM_YIELD, &acc);
	if (me.bad)
		return ~sum; /* the parent sees a wrong sum */
	return sum;
}

static void join_child(struct worker *w, uint64_t *acc)
{
	uint64_t v = 0;
	if (!w->child)
		return;
	enum rt_exit_kind k = rt_join(w->child, &v);
	if (k != RT_EXIT_RETURNED)
		fail(&w->bad, "a child task did not return", w->child->id, k);
	else if (v != recursion_sum(w->child_depth, w->child_seed))
		fail(&w->bad, "a child returned a wrong sum", v, w->child_depth);
	rt_reap(w->child);
	w->child = NULL;
	*acc = mix(*acc ^ v);
}

/* ---- workers and their model ---- */

/*
 * The operations of a worker, drawn from its seed. op_fn is called with
 * each; the worker and the model draw the same sequence.
 */
struct op_args {
	enum op op;
	uint64_t depth, seed;
	enum bottom at_bottom;
};

static struct op_args next_op(struct rng *r, uint64_t max_depth)
{
	struct op_args a = { (enum op)rnd_below(r, OP_COUNT), 0, 0, AT_BOTTOM_NOTHING };
	a.depth = rnd_below(r, max_depth);
	a.seed = rnd(r);
	a.at_bottom = (enum bottom)rnd_below(r, 4);
	return a;
}

static uint64_t worker_main(uint64_t arg)
{
	struct worker *w = (struct worker *)arg;
	struct rng r = { w->seed };
	uint64_t acc = 0;
	for (uint64_t i = 0; i < F.ops; i++) {
		struct op_args a = next_op(&r, F.max_depth);
		switch (a.op) {
		case OP_RECURSE: {
			uint64_t sum = recurse(w, NULL, 0, a.depth, a.seed, a.at_bottom, &acc);
			acc = mix(acc ^ sum); /* acc after the call: an exchange at the bottom changed it */
			break;
		}
		case OP_YIELD: yield(); break;
		case OP_EXCHANGE: exchange(w, &acc); break;
		case OP_POOL: pool_pass(w); break;
		case OP_SPAWN:
			if (w->child)
				break;
			w->child_seed = a.seed;
			w->child_depth = a.depth;
			w->child = rt_spawn(child_main, (uint64_t)w, "fuzz-child");
			if (!w->child)
				fail(&w->bad, "out of memory spawning a child", w->id, i);
			else
				F.children++;
			break;
		case OP_JOIN: join_child(w, &acc); break;
		default: break;
		}
	}
	join_child(w, &acc);
	return acc;
}

/* What worker_main returns if the runtime is right: the same draws, no runtime. */
static uint64_t model_worker(struct worker *w, uint64_t *exchanges)
{
	struct rng r = { w->seed };
	uint64_t acc = 0, seq = 0, answered = 0;
	bool child = false;
	uint64_t child_sum = 0;
	for (uint64_t i = 0; i < F.ops; i++) {
		struct op_args a = next_op(&r, F.max_depth);
		uint64_t exch = 0;
		switch (a.op) {
		case OP_RECURSE: {
			uint64_t before = acc;
			if (a.at_bottom == AT_BOTTOM_EXCHANGE)
				exch = 1;
			if (a.at_bottom == AT_BOTTOM_POOL)
				seq++;
			if (exch) {
				before = mix(before ^ answer_of(msg_check(w->id, seq++, w->cell[0])));
				answered++;
			}
			acc = mix(before ^ recursion_sum(a.depth, a.seed));
			break;
		}
		case OP_EXCHANGE:
			acc = mix(acc ^ answer_of(msg_check(w->id, seq++, w->cell[0])));
			answered++;
			break;
		case OP_POOL: seq++; break;
		case OP_SPAWN:
			if (!child) {
				child = true;
				child_sum = recursion_sum(a.depth, a.seed);
			}
			break;
		case OP_JOIN:
			if (child)
				acc = mix(acc ^ child_sum);
			child = false;
			break;
		default: break;
		}
	}
	if (child)
		acc = mix(acc ^ child_sum);
	*exchanges += answered;
	return acc;
}

static void cleanup(void)
{
	for (uint64_t i = 0; F.reply && i < F.nworkers; i++)
		rt_chan_free(F.reply[i]);
	for (uint64_t i = 0; F.workers && i < F.nworkers; i++)
		rt_free(F.workers[i].cell);
	rt_free(F.reply);
	rt_free(F.workers);
	rt_chan_free(F.req);
	rt_chan_free(F.pool);
	F.reply = NULL;
	F.workers = NULL;
	F.req = F.pool = NULL;
}

/* Collects how a task ended into res; reaps it if it is done. */
static void settle(struct rt_task *t, struct stackfuzz_result *res, uint64_t *value)
{
	res->moves += t->stats.grows + t->stats.shrinks;
	if (t->state != RT_DONE) {
		res->deadlocked++;
		if (!F.first_error[0])
			ksnprintf(F.first_error, sizeof F.first_error, "task %lu (%s) still blocked at the end",
				  t->id, t->name);
		return;
	}
	if (t->exit_kind == RT_EXIT_KILLED) {
		res->killed++;
		if (!F.first_error[0])
			ksnprintf(F.first_error, sizeof F.first_error, "task %lu (%s) killed: %s", t->id, t->name,
				  t->kill_reason);
	}
	*value = t->exit_value;
	rt_reap(t);
}

int stackfuzz_run(uint64_t seed, const struct stackfuzz_opts *opts, void (*run_tasks)(void),
		  struct stackfuzz_result *res)
{
	struct rng r = { mix(seed) };
	struct rt_global_stats before, after;
	memset(res, 0, sizeof *res);
	memset(&F, 0, sizeof F);
	rt_get_stats(&before);
	F.nworkers = opts && opts->workers ? opts->workers : 4 + rnd_below(&r, 13);
	F.max_depth = opts && opts->max_depth ? opts->max_depth : 400;
	F.ops = opts && opts->ops ? opts->ops : 24;
	F.hibernate = mix(seed ^ 0x41be7) & 1; /* not from r: the workload's draws stay as they were */
	F.req = rt_chan_make(sizeof(struct msg), 0);
	F.pool = rt_chan_make(sizeof(struct msg), 1 + rnd_below(&r, 4));
	F.reply = rt_alloc(F.nworkers * sizeof *F.reply);
	F.workers = rt_alloc(F.nworkers * sizeof *F.workers);
	bool oom = !F.req || !F.pool || !F.reply || !F.workers;
	for (uint64_t i = 0; !oom && i < F.nworkers; i++) {
		struct worker *w = &F.workers[i];
		w->id = i;
		w->seed = rnd(&r);
		w->cell = rt_alloc(2 * sizeof(uint64_t));
		F.reply[i] = rt_chan_make(sizeof(struct msg), 1);
		oom = !w->cell || !F.reply[i];
		if (!oom)
			w->cell[0] = mix(seed ^ i);
	}
	if (oom) {
		cleanup();
		ksnprintf(res->first_error, sizeof res->first_error, "out of memory setting up");
		return -1;
	}
	uint64_t *expect = rt_alloc(F.nworkers * sizeof *expect);
	for (uint64_t i = 0; expect && i < F.nworkers; i++)
		expect[i] = model_worker(&F.workers[i], &F.exchanges);
	struct rt_task *hub_task = expect ? rt_spawn(hub, rnd(&r), "fuzz-hub") : NULL;
	for (uint64_t i = 0; hub_task && i < F.nworkers; i++)
		F.workers[i].task = rt_spawn(worker_main, (uint64_t)&F.workers[i], "fuzz-worker");
	run_tasks();

	uint64_t v, corrupted_workers = 0;
	for (uint64_t i = 0; i < F.nworkers; i++) {
		struct worker *w = &F.workers[i];
		if (!w->task) {
			fail(&w->bad, "out of memory spawning a worker", i, 0);
			corrupted_workers++;
			continue;
		}
		uint64_t killed = res->killed, stuck = res->deadlocked;
		v = 0;
		settle(w->task, res, &v);
		if (res->killed == killed && res->deadlocked == stuck && (w->bad || v != expect[i])) {
			corrupted_workers++;
			if (!w->bad)
				fail(&w->bad, "a worker's result differs from the model", v, expect[i]);
		}
		if (w->child && w->child->state == RT_DONE) { /* the worker died before joining it */
			settle(w->child, res, &v);
			w->child = NULL;
		}
	}
	if (hub_task)
		settle(hub_task, res, &v);
	res->tasks = (hub_task ? 1 : 0) + F.nworkers + F.children;
	res->corrupted = corrupted_workers + (F.hub_bad != 0);
	if (!res->killed && !res->deadlocked && F.pool_sent != F.pool_received) {
		res->corrupted++;
		fail(&F.hub_bad, "pool values sent and received differ", F.pool_sent, F.pool_received);
	}
	res->values = F.values;
	res->frames = F.frames;
	res->hibernated = F.hibernated;
	rt_free(expect);
	if (!res->deadlocked)
		cleanup(); /* a blocked task may still refer to the channels */
	rt_get_stats(&after);
	res->leaked_bytes = after.stack_bytes_committed - before.stack_bytes_committed;
	if (!res->deadlocked && res->leaked_bytes && !F.first_error[0])
		ksnprintf(F.first_error, sizeof F.first_error, "%lu bytes of stack still committed",
			  res->leaked_bytes);
	memcpy(res->first_error, F.first_error, sizeof res->first_error);
	return res->killed || res->corrupted || res->deadlocked || res->leaked_bytes || !expect ? -1 : 0;
}

void stackfuzz_add(struct stackfuzz_totals *t, const struct stackfuzz_result *res, int rc)
{
	t->seeds++;
	t->failed += rc != 0;
	t->killed += res->killed;
	t->corrupted += res->corrupted;
	t->deadlocked += res->deadlocked;
	t->moves += res->moves;
	t->values += res->values;
	t->frames += res->frames;
	t->hibernated += res->hibernated;
}
