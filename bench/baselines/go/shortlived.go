package main

// The `short_lived` benchmark: 1,000,000 goroutines that each use 16 KiB
// of stack and exit.  Run twice, under two GODEBUG settings:
//
//	go-default    Go 1.19's default, adaptivestackstart=1: at each GC the
//	              runtime sets the starting stack of new goroutines to the
//	              average stack use it scanned (plus the guard, rounded up
//	              to a power of two), so later goroutines need not grow.
//	go-adaptive0  GODEBUG=adaptivestackstart=0: every goroutine starts at
//	              2 KiB and grows 2 -> 4 -> 8 -> 16 -> 32 KiB.
//
// Tasks run in waves of 100.  Each recurses, in frames of about 256 bytes,
// until 16 KiB of its stack is in use; there it yields once, so that a
// wave's tasks are all deep at the same time, as tasks blocked on I/O
// would be; then it allocates a 64-byte object (garbage: it is what makes
// GCs happen, and a GC is when the starting size is re-estimated from the
// stacks it scans), returns and exits.
//
// One run, not the best of benchRuns: a run of a million tasks takes
// 10-20 s here, dominated by stack growth, and five of each would not fit
// the two minutes the baselines may take.  The starting size the default
// chooses is sampled every 500 waves and printed on stderr: it moves
// between 2 and 16 KiB, never reaching the 32 KiB that would spare these
// tasks every growth (see README).

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	shortTasks = 1000000
	shortWave  = 100
	shortStack = 16 << 10
)

// shortSink keeps the allocations alive until the next one replaces them.
var shortSink []*[8]uint64

// useStack recurses until the stack below root holds shortStack bytes,
// then yields, allocates and returns a checksum of the depth reached.
// pad makes the frame about 256 bytes; Go zeroes it on every entry.
//
//go:noinline
func useStack(root *link, slot int, depth int) uint64 {
	var pad [28]uint64
	here := link{root, depth}
	pad[depth%28] = uint64(depth)
	if addr(root)-addr(&here) >= shortStack {
		runtime.Gosched()
		obj := new([8]uint64)
		obj[0] = uint64(depth)
		shortSink[slot] = obj
		return uint64(here.depth)
	}
	return useStack(root, slot, depth+1) + pad[depth%28] - uint64(depth) + 1
}

// shortRun runs the tasks and returns a checksum (per task, its depth
// twice, so the same for every task) and how often each starting stack
// size was seen.
func shortRun() (uint64, map[uint64]int) {
	var wg sync.WaitGroup
	var sums [shortWave]uint64
	seen := map[uint64]int{}
	for w := 0; w < shortTasks/shortWave; w++ {
		wg.Add(shortWave)
		for i := 0; i < shortWave; i++ {
			go func(slot int) {
				var root link
				sums[slot] += useStack(&root, slot, 0)
				wg.Done()
			}(i)
		}
		wg.Wait()
		if w%500 == 0 {
			seen[startingStackSize()]++
		}
	}
	var sum uint64
	for _, s := range sums {
		sum += s
	}
	return sum, seen
}

func benchShortLived() {
	impl := "go-default"
	if strings.Contains(os.Getenv("GODEBUG"), "adaptivestackstart=0") {
		impl = "go-adaptive0"
	}
	shortSink = make([]*[8]uint64, shortWave)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	sum, seen := shortRun()
	t := time.Since(start)
	runtime.ReadMemStats(&after)
	if sum%shortTasks != 0 || sum == 0 {
		fail("short_lived %s: checksum %d is not the same for every task", impl, sum)
	}
	ms := float64(t.Nanoseconds()) / 1e6
	benchLine("short_lived", impl, ms, "ms")
	benchLine("short_lived", impl, ms*1e6/shortTasks, "ns/task")
	sizes := make([]uint64, 0, len(seen))
	for size := range seen {
		sizes = append(sizes, size)
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })
	var hist []string
	for _, size := range sizes {
		hist = append(hist, fmt.Sprintf("%s x%d", sizeName(size), seen[size]))
	}
	note("short_lived %s: %d GCs; starting stack seen every 500 waves: %s",
		impl, after.NumGC-before.NumGC, strings.Join(hist, ", "))
	note("short_lived %s: checksum %d (%d frames per task)", impl, sum, sum/shortTasks/2)
}
