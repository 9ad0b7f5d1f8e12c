/*
 * churn.c: the `churn N [SEED]` command: N tasks grow and shrink to seeded
 * random depths, interleaved with yields and channel operations; checks
 * every result and that no stack memory, heap object or physical page is left.
 */
#include "kernel.h"
#include "shell.h"
#include "stop.h"
#include "x86.h"

#include "chan.h"
#include "heap.h"
#include "platform.h"
#include "rt.h"
#include "twins.h"

struct churn_job {
	struct chain_job grow;
	uint64_t seed, acc;
};

static struct rt_chan *churn_chan;
static uint64_t churn_sent, churn_received;

/*
 * Six rounds: recurse to a random depth (grows), come back, yield (shrinks),
 * then pass a token through a shared buffered channel (may park).
 */
static uint64_t churn_task(uint64_t arg)
{
	struct churn_job *job = (struct churn_job *)arg;
	uint64_t x = job->seed;
	for (int round = 0; round < 6; round++) {
		x = chain_mix(x + (uint64_t)round);
		job->grow.frames = 1 + x % 3000;
		job->grow.check_moves = true;
		job->acc ^= chain_descend(&job->grow);
		rt_yield();
		uint64_t token = x, got = 0;
		rt_chan_send(churn_chan, &token);
		churn_sent += token;
		rt_chan_recv(churn_chan, &got);
		churn_received += got;
	}
	return job->acc;
}

static uint64_t churn_expect(uint64_t seed)
{
	uint64_t x = seed, acc = 0;
	for (int round = 0; round < 6; round++) {
		x = chain_mix(x + (uint64_t)round);
		acc ^= chain_expected(1 + x % 3000);
	}
	return acc;
}

void cmd_churn(int argc, char **argv)
{
	uint64_t n, seed = 1;
	if (argc < 2 || argc > 3 || parse_u64(argv[1], &n) != 0 || n == 0 || n > 100000 ||
	    (argc == 3 && parse_u64(argv[2], &seed) != 0)) {
		kprintf("churn: usage: churn N [SEED] (1 to 100000 tasks)\n");
		return;
	}
	struct rt_global_stats before, after;
	struct rt_heap_stats hb, ha;
	rt_get_stats(&before);
	rt_heap_get_stats(&hb);
	uint64_t pages_before = phys_pages.free + kplat_pool_pages();
	uint64_t tables_before = kplat_stack_tables();
	struct rt_task **tasks = rt_alloc(n * sizeof *tasks);
	churn_chan = rt_chan_make(sizeof(uint64_t), 16);
	if (!tasks || !churn_chan) {
		kprintf("churn: out of memory for its %s; nothing was run\n",
			tasks ? "channel" : "table of tasks");
		rt_free(tasks);
		rt_chan_free(churn_chan);
		churn_chan = NULL;
		return;
	}
	churn_sent = churn_received = 0;
	uint64_t made = 0;
	for (; made < n && !stop_pending(); made++) {
		struct churn_job *job = rt_alloc(sizeof *job);
		if (!job)
			break;
		job->seed = seed * 1000003 + made;
		tasks[made] = rt_spawn(churn_task, (uint64_t)job, "churn");
		if (!tasks[made]) {
			rt_free(job);
			break;
		}
	}
	if (made < n && stop_pending())
		kprintf("churn: Ctrl-C: %lu of %lu tasks were started; running those\n", made, n);
	else if (made < n)
		kprintf("churn: out of memory: only %lu of %lu tasks could start; running those\n",
			made, n);
	uint64_t t0 = plat_now_ns();
	run_tasks();
	uint64_t ok = 0, grows = 0, shrinks = 0, killed = 0, broken = 0;
	for (uint64_t i = 0; i < made; i++) {
		struct rt_task *t = tasks[i];
		struct churn_job *job = (struct churn_job *)t->arg;
		uint64_t v;
		if (rt_join(t, &v) != RT_EXIT_RETURNED) {
			if (!killed++) /* the first death says why; the runtime printed each */
				task_died("churn", t, "its checksum is not counted");
		} else if (v == churn_expect(job->seed))
			ok++;
		broken += job->grow.broken;
		grows += t->stats.grows;
		shrinks += t->stats.shrinks;
		rt_free(job);
		rt_reap(t);
	}
	uint64_t ms = (plat_now_ns() - t0) / 1000000;
	rt_free(tasks);
	rt_chan_free(churn_chan);
	churn_chan = NULL;
	kprintf("churn: channel tokens: %lu sent, %lu received (sums %s)\n", churn_sent, churn_received,
		churn_sent == churn_received ? "equal" : "DIFFER");
	rt_get_stats(&after);
	rt_heap_get_stats(&ha);
	kprintf("churn: %lu tasks, %lu checksums ok, %lu killed, %lu broken links; %lu grows, "
		"%lu shrinks in %lu ms\n", made, ok, killed, broken, grows, shrinks, ms);
	kprintf("churn: stack memory mapped %lu KiB before, %lu KiB after; heap objects %lu before, "
		"%lu after\n", before.stack_bytes_committed >> 10, after.stack_bytes_committed >> 10,
		hb.objects_live, ha.objects_live);
	/* What may stay, each counted apart: the page tables around the next
	 * stack addresses (a PT, a PD, a PDPT; fewer than before if this run
	 * moved the frontier past tables an earlier command left there),
	 * heap spans kept for reuse, and (with stackreuse on) the stacks the
	 * runtime's cache holds, with at most one page table each that only
	 * they keep. Anything else is a leak (more pages taken) or a page
	 * given back twice (fewer). */
	int64_t cached = ((int64_t)after.stack_bytes_cached - (int64_t)before.stack_bytes_cached) /
			 (int64_t)PAGE_SIZE;
	int64_t kept = (int64_t)pages_before - (int64_t)(phys_pages.free + kplat_pool_pages()) - cached;
	int64_t tables = (int64_t)kplat_stack_tables() - (int64_t)tables_before;
	int64_t spans = (int64_t)ha.pages_held - (int64_t)hb.pages_held;
	int64_t other = kept - tables - spans;
	kprintf("churn: pages taken afterwards: %ld in stack page tables (%lu before, %lu after), "
		"%ld in heap spans, %ld in cached stacks, %ld else\n", tables, tables_before,
		kplat_stack_tables(), spans, cached, other);
	if (made < n || killed) {
		kprintf("churn: %lu of %lu tasks %s: no verdict\n", n - made + killed, n,
			made < n ? "did not start or died (out of memory, above)" : "died (above)");
		return;
	}
	int64_t allowed = 16 + (int64_t)after.stacks_cached;
	kprintf("churn: %s\n", other >= 0 && other <= 4 && tables + spans <= allowed && ok == n &&
				       broken == 0 && churn_sent == churn_received &&
				       after.stack_bytes_committed == before.stack_bytes_committed &&
				       ha.objects_live == hb.objects_live ? "ok" : "FAILED");
}
