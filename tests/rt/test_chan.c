/*
 * test_chan.c: channels on the Linux host port: handoff, buffering, close,
 * Go's panics, many tasks, and a parked sender whose stack moves while it
 * waits (its element pointer must follow).
 */
#include "rt_test.h"

#include <stdio.h>

#include "chan.h"

struct pair {
	struct rt_chan *a, *b;
	uint64_t n;
};

static uint64_t pinger(uint64_t arg)
{
	struct pair *p = (struct pair *)arg;
	uint64_t sum = 0;
	for (uint64_t i = 0; i < p->n; i++) {
		uint64_t v = i, back;
		rt_chan_send(p->a, &v);
		assert_true(rt_chan_recv(p->b, &back));
		sum += back;
	}
	return sum;
}

static uint64_t ponger(uint64_t arg)
{
	struct pair *p = (struct pair *)arg;
	uint64_t v;
	for (uint64_t i = 0; i < p->n; i++) {
		assert_true(rt_chan_recv(p->a, &v));
		v *= 2;
		rt_chan_send(p->b, &v);
	}
	return 0;
}

static void test_unbuffered_ping_pong(void **state)
{
	(void)state;
	rt_test_setup();
	struct pair p = { rt_chan_make(8, 0), rt_chan_make(8, 0), 10000 };
	struct rt_task *a = rt_spawn(pinger, (uint64_t)&p, "ping");
	struct rt_task *b = rt_spawn(ponger, (uint64_t)&p, "pong");
	uint64_t sum = 0;
	assert_int_equal(rt_join(a, &sum), RT_EXIT_RETURNED);
	assert_int_equal(rt_join(b, NULL), RT_EXIT_RETURNED);
	assert_true(sum == 2 * (p.n * (p.n - 1) / 2));
	rt_reap(a);
	rt_reap(b);
	rt_chan_free(p.a);
	rt_chan_free(p.b);
}

static uint64_t fill(uint64_t arg)
{
	struct rt_chan *c = (struct rt_chan *)arg;
	for (uint64_t i = 1; i <= 10; i++)
		rt_chan_send(c, &i); /* the 4th blocks until the reader drains */
	rt_chan_close(c);
	return 0;
}

static uint64_t drain(uint64_t arg)
{
	struct rt_chan *c = (struct rt_chan *)arg;
	uint64_t v, expect = 1, got = 0;
	while (rt_chan_recv(c, &v)) {
		if (v != expect++)
			return 0;
		got++;
	}
	return v == 0 ? got : 0; /* after close: zero value, false */
}

static void test_buffered_fifo_and_close(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_chan *c = rt_chan_make(8, 3);
	struct rt_task *w = rt_spawn(fill, (uint64_t)c, "fill");
	struct rt_task *r = rt_spawn(drain, (uint64_t)c, "drain");
	uint64_t got = 0;
	assert_int_equal(rt_join(r, &got), RT_EXIT_RETURNED);
	assert_int_equal(got, 10);
	assert_int_equal(rt_join(w, NULL), RT_EXIT_RETURNED);
	rt_reap(w);
	rt_reap(r);
	rt_chan_free(c);
}

static uint64_t blocked_reader(uint64_t arg)
{
	uint64_t v = 99;
	bool ok = rt_chan_recv((struct rt_chan *)arg, &v);
	return !ok && v == 0;
}

static uint64_t closer(uint64_t arg)
{
	rt_chan_close((struct rt_chan *)arg);
	return 1;
}

static void test_close_wakes_waiting_receivers(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_chan *c = rt_chan_make(8, 0);
	struct rt_task *r1 = rt_spawn(blocked_reader, (uint64_t)c, "r1");
	struct rt_task *r2 = rt_spawn(blocked_reader, (uint64_t)c, "r2");
	struct rt_task *cl = rt_spawn(closer, (uint64_t)c, "closer");
	uint64_t a = 0, b = 0;
	assert_int_equal(rt_join(r1, &a), RT_EXIT_RETURNED);
	assert_int_equal(rt_join(r2, &b), RT_EXIT_RETURNED);
	assert_true(a && b);
	rt_join(cl, NULL);
	rt_reap(r1);
	rt_reap(r2);
	rt_reap(cl);
	rt_chan_free(c);
}

static uint64_t send_after_close(uint64_t arg)
{
	struct rt_chan *c = (struct rt_chan *)arg;
	uint64_t v = 1;
	rt_chan_close(c);
	rt_chan_send(c, &v);
	return 1;
}

static uint64_t close_twice(uint64_t arg)
{
	rt_chan_close((struct rt_chan *)arg);
	rt_chan_close((struct rt_chan *)arg);
	return 1;
}

static void test_go_panics_kill_only_the_task(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_chan *c1 = rt_chan_make(8, 1), *c2 = rt_chan_make(8, 1);
	struct rt_task *a = rt_spawn(send_after_close, (uint64_t)c1, "sender");
	struct rt_task *b = rt_spawn(close_twice, (uint64_t)c2, "closer");
	assert_int_equal(rt_join(a, NULL), RT_EXIT_KILLED);
	assert_int_equal(rt_join(b, NULL), RT_EXIT_KILLED);
	expect_console("panic: send on closed channel");
	expect_console("panic: close of closed channel");
	expect_console("goroutine ");
	assert_string_equal(a->kill_reason, "panic: send on closed channel");
	rt_reap(a);
	rt_reap(b);
	rt_chan_free(c1);
	rt_chan_free(c2);
}

/* A sender that grew a big stack, then parks on a send from a shallow frame. */
__attribute__((noinline)) static uint64_t deep(uint64_t n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	return n ? deep(n - 1) + pad[0] : 0;
}

static uint64_t parked_sender(uint64_t arg)
{
	struct rt_chan *c = (struct rt_chan *)arg;
	deep(20000);                        /* grows to several MiB */
	uint64_t value = 0x5ca1ab1e;        /* lives in this stack */
	rt_chan_send(c, &value);               /* parks: the stack shrinks under the waiting send */
	return rt_current()->stats.shrinks;
}

static uint64_t late_receiver(uint64_t arg)
{
	struct rt_chan *c = (struct rt_chan *)arg;
	for (int i = 0; i < 5; i++)
		rt_yield();
	uint64_t v = 0;
	rt_chan_recv(c, &v);
	return v;
}

static void test_waiting_element_follows_a_stack_move(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_chan *c = rt_chan_make(8, 0);
	struct rt_task *s = rt_spawn(parked_sender, (uint64_t)c, "sender");
	struct rt_task *r = rt_spawn(late_receiver, (uint64_t)c, "receiver");
	uint64_t shrinks = 0, v = 0;
	assert_int_equal(rt_join(r, &v), RT_EXIT_RETURNED);
	assert_int_equal(rt_join(s, &shrinks), RT_EXIT_RETURNED);
	assert_true(v == 0x5ca1ab1e);
	assert_true(shrinks >= 1); /* it really moved while parked */
	rt_reap(s);
	rt_reap(r);
	rt_chan_free(c);
}

/* 100 producers, one consumer, through a small buffer. */
static struct rt_chan *pc_chan;

static uint64_t producer(uint64_t id)
{
	for (uint64_t i = 0; i < 100; i++) {
		uint64_t v = id * 1000 + i;
		rt_chan_send(pc_chan, &v);
		if (i % 7 == 0)
			deep(id * 10 + i); /* grow now and then, to move stacks between operations */
	}
	return 0;
}

static uint64_t consumer(uint64_t n)
{
	uint64_t v, sum = 0;
	for (uint64_t i = 0; i < n; i++) {
		rt_chan_recv(pc_chan, &v);
		sum += v;
	}
	return sum;
}

static void test_many_producers_one_consumer(void **state)
{
	(void)state;
	rt_test_setup();
	pc_chan = rt_chan_make(8, 4);
	struct rt_task *p[100];
	for (uint64_t i = 0; i < 100; i++)
		p[i] = rt_spawn(producer, i, "producer");
	struct rt_task *c = rt_spawn(consumer, 100 * 100, "consumer");
	uint64_t sum = 0, expect = 0;
	for (uint64_t id = 0; id < 100; id++)
		for (uint64_t i = 0; i < 100; i++)
			expect += id * 1000 + i;
	assert_int_equal(rt_join(c, &sum), RT_EXIT_RETURNED);
	assert_true(sum == expect);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(rt_join(p[i], NULL), RT_EXIT_RETURNED);
		rt_reap(p[i]);
	}
	rt_reap(c);
	rt_chan_free(pc_chan);
}

/* ---- Go's semantics the old runtime missed ---- */

static struct rt_task *joined;

static uint64_t slow_worker(uint64_t v)
{
	for (int i = 0; i < 5; i++)
		rt_yield();
	return v;
}

static uint64_t joiner(uint64_t unused)
{
	(void)unused;
	uint64_t v = 0;
	return rt_join(joined, &v) == RT_EXIT_RETURNED ? v : 0;
}

/* Two tasks join one: both see it end (the first used to stay parked). */
static void test_two_joiners_both_wake(void **state)
{
	(void)state;
	rt_test_setup();
	joined = rt_spawn(slow_worker, 42, "worker");
	struct rt_task *a = rt_spawn(joiner, 0, "joiner-a"), *b = rt_spawn(joiner, 0, "joiner-b");
	uint64_t va = 0, vb = 0;
	assert_int_equal(rt_join(a, &va), RT_EXIT_RETURNED);
	assert_int_equal(rt_join(b, &vb), RT_EXIT_RETURNED);
	assert_int_equal(va, 42);
	assert_int_equal(vb, 42);
	rt_reap(a);
	rt_reap(b);
	rt_reap(joined);
}

static uint64_t nil_receiver(uint64_t unused)
{
	(void)unused;
	uint64_t v;
	rt_chan_recv(NULL, &v);
	return 1; /* never */
}

static uint64_t nil_sender(uint64_t unused)
{
	(void)unused;
	uint64_t v = 1;
	rt_chan_send(NULL, &v);
	return 1; /* never */
}

/* A nil channel blocks forever, as in Go (it used to panic); the others go on. */
static void test_nil_channel_blocks_forever(void **state)
{
	(void)state;
	rt_test_setup();
	struct rt_task *r = rt_spawn(nil_receiver, 0, "nil-recv"), *s = rt_spawn(nil_sender, 0, "nil-send");
	struct rt_task *w = rt_spawn(slow_worker, 7, "worker");
	uint64_t v = 0;
	assert_int_equal(rt_join(w, &v), RT_EXIT_RETURNED);
	assert_int_equal(v, 7);
	rt_run();
	assert_int_equal(r->state, RT_PARKED);
	assert_int_equal(s->state, RT_PARKED);
	assert_null(strstr(console_buf, "panic"));
	rt_reap(w);
	/* Joining one of them from the host: every task is asleep, Go's deadlock. */
	assert_int_equal(rt_join(r, NULL), RT_EXIT_NONE);
	char want[160];
	snprintf(want, sizeof want, "runtime: all tasks are asleep: task %lu (nil-recv) cannot finish - deadlock!", r->id);
	expect_console(want);
	snprintf(want, sizeof want, "task %lu (nil-recv) [chan receive (nil chan)]", r->id);
	expect_console(want);
	snprintf(want, sizeof want, "task %lu (nil-send) [chan send (nil chan)]", s->id);
	expect_console(want);
	/* r and s stay parked for good: nothing can wake them */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unbuffered_ping_pong),
		cmocka_unit_test(test_buffered_fifo_and_close),
		cmocka_unit_test(test_close_wakes_waiting_receivers),
		cmocka_unit_test(test_go_panics_kill_only_the_task),
		cmocka_unit_test(test_waiting_element_follows_a_stack_move),
		cmocka_unit_test(test_many_producers_one_consumer),
		cmocka_unit_test(test_two_joiners_both_wake),
		cmocka_unit_test(test_nil_channel_blocks_forever),
	};
	return unit_run("chan", tests);
}
