package main

// The recursion benchmarks: deep_recursion, hot_split and growth_ladder.
//
// A Go function starts by comparing its stack pointer with the goroutine's
// stack guard (the stack's low end + 928 bytes); below it, morestack calls
// newstack, which allocates a stack twice as large (or more, until the
// frame fits), copies the used part, adjusts every pointer into it from
// the stack maps, and frees the old one.  A goroutine starts with 2 KiB
// (_FixedStack on linux/amd64 since Go 1.4), or with adaptivestackstart
// the average found at the last GC.
//
// Stack moves are seen from Go code by keeping an address both as a
// pointer, which the runtime adjusts when the stack moves, and as a
// uintptr, which it does not: when the two differ, the stack has moved.

import (
	"runtime"
	"runtime/debug"
	"time"
	"unsafe"
)

// _StackGuard on linux/amd64: a function whose frame would reach below
// lo + stackGuard grows the stack first.
const stackGuard = 928

// addr is the address of a stack variable, a number the runtime will not
// adjust when it moves the stack.
func addr(p *link) uintptr { return uintptr(unsafe.Pointer(p)) }

// ---- deep_recursion ----

const deepFrames = 1000000

type link struct {
	caller *link
	depth  int
}

// deepBottom, when set, runs at the bottom of the recursion: used once,
// untimed, to read the memory statistics with the whole stack in use.
var deepBottom func()

// deepUsed is the distance from the outermost frame to the deepest one
// found by the last walk.
var deepUsed uintptr

// chainVerify walks from the deepest frame to the outermost, checking that
// the depths count up by one; returns their sum, or 0 if a link is wrong.
//
//go:noinline
func chainVerify(l *link) uint64 {
	var sum uint64
	deepest, expect := l, 0
	for ; l.caller != nil; l, expect = l.caller, expect+1 {
		if l.depth != expect {
			return 0
		}
		sum += uint64(l.depth)
	}
	if l.depth != deepFrames || expect != deepFrames {
		return 0
	}
	deepUsed = addr(l) - addr(deepest)
	if deepBottom != nil {
		deepBottom()
	}
	return sum + uint64(l.depth)
}

// descend recurses depth more levels, each frame linked to its caller's.
//
//go:noinline
func descend(caller *link, depth int) uint64 {
	here := link{caller, depth}
	if depth == 0 {
		return chainVerify(&here)
	}
	var one uint64
	if here.caller != nil {
		one = 1
	}
	return descend(&here, depth-1) + one
}

// deepRun runs the recursion on a new goroutine, whose stack starts small,
// and returns its checksum and the time from go to the result.
func deepRun() (uint64, time.Duration) {
	done := make(chan uint64)
	start := time.Now()
	go func() { done <- descend(nil, deepFrames) }()
	sum := <-done
	return sum, time.Since(start)
}

// growthsTo counts the doublings from start that give a stack which holds
// `used` bytes above the guard.
func growthsTo(start, used uint64) (uint64, int) {
	size, n := start, 0
	for size < used+stackGuard {
		size *= 2
		n++
	}
	return size, n
}

func benchDeepRecursion() {
	const want = uint64(deepFrames)*(deepFrames+1)/2 + deepFrames - 1
	start := startingStackSize()
	var best time.Duration
	for run := 0; run <= benchRuns; run++ {
		sum, t := deepRun()
		if sum != want {
			fail("deep_recursion go: checksum %d, want %d: the chain of links is broken", sum, want)
		}
		kind := "warm"
		if run == 0 {
			kind = "cold"
		}
		note("deep_recursion go: %s run %.2f ms", kind, float64(t.Nanoseconds())/1e6)
		if run == 1 || (run > 1 && t < best) {
			best = t
		}
	}
	benchLine("deep_recursion", "go", float64(best.Nanoseconds())/1e6, "ms")

	size, growths := growthsTo(start, uint64(deepUsed))
	var before, atBottom runtime.MemStats
	deepBottom = func() { runtime.ReadMemStats(&atBottom) }
	runtime.ReadMemStats(&before)
	deepRun()
	deepBottom = nil
	note("deep_recursion go: checksum %d; %d bytes per frame; stack %s at the bottom after "+
		"%d growths from %s (StackInuse grew by %.1f MiB)", want, deepUsed/deepFrames,
		sizeName(size), growths, sizeName(start),
		float64(atBottom.StackInuse-before.StackInuse)/(1<<20))
}

// ---- hot_split ----

const hotIters = 10000000

// frameUser is a leaf with a 256-byte frame, which Go zeroes on entry.
//
//go:noinline
func frameUser(x uint64) uint64 {
	var buf [32]uint64
	buf[x&31] = x
	return buf[(x>>5)&31] + 1
}

//go:noinline
func callLoop(n uint64) uint64 {
	var sum uint64
	for i := uint64(0); i < n; i++ {
		sum += frameUser(i)
	}
	return sum
}

func callLoopExpect(n uint64) uint64 {
	var sum uint64
	for i := uint64(0); i < n; i++ {
		if i&31 == (i>>5)&31 {
			sum += i
		}
		sum++
	}
	return sum
}

type hotSite struct {
	level      int
	sum        uint64
	movedAgain bool
}

// hotDescend descends one frame per level; at each level it makes one
// probing call and checks whether the stack moved during it.  At the first
// level where it did, that call crossed the end of the goroutine's first
// stack: it makes the n measured calls from there and returns the level.
//
//go:noinline
func hotDescend(level int, n uint64, site *hotSite) int {
	var here link
	before := addr(&here)
	callLoop(1)
	if after := addr(&here); after != before {
		site.sum = callLoop(n)
		site.level = level
		site.movedAgain = addr(&here) != after
		return level
	}
	return hotDescend(level+1, n, site)
}

func benchHotSplit() {
	want := callLoopExpect(hotIters)
	var best time.Duration
	var site hotSite
	for run := 0; run < benchRuns; run++ {
		done := make(chan struct{})
		start := time.Now()
		go func() {
			hotDescend(0, hotIters, &site)
			close(done)
		}()
		<-done
		t := time.Since(start)
		if site.sum != want {
			fail("hot_split go: checksum %d, want %d", site.sum, want)
		}
		if site.movedAgain {
			fail("hot_split go: the stack moved again during the loop")
		}
		if run == 0 || t < best {
			best = t
		}
	}
	benchLine("hot_split", "go", float64(best.Nanoseconds())/hotIters, "ns/iter")
	note("hot_split go: the first call at level %d grew the stack from %s; "+
		"the next %d did not move it; checksum %d", site.level,
		sizeName(startingStackSize()), hotIters, want)
}

// ---- growth_ladder ----

// One growth event at each stack size from 4 KiB to 64 MiB: a goroutine
// recurses to the frame just before the call that grows the stack from
// that size, then times that call (it grows the stack and returns at once)
// and the same call again (no growth: the stack stays grown).  The growth
// costs the difference.  The depths come from one discovery run down to
// 128 MiB that notes where each growth happened.

const (
	ladderFirst = 4 << 10
	ladderLast  = 64 << 20
)

// ladder holds what one descent is asked to do and what it found.
type ladder struct {
	target     int   // depth of the frame whose entry grows the stack; 0 for discovery
	growths    []int // discovery: depths whose entry grew the stack
	maxGrowths int   // discovery: stop after this many
	first      int64 // ns for the call that grows
	warm       int64 // ns for the same call again
	moved      bool  // the first call did move the stack
}

// ladderDescend is one frame of the ladder.  It learns that its own entry
// grew the stack when its caller's frame is no longer where the caller
// said it was.  nanotime does not grow the stack (it is nosplit), so the
// timed call is the only one that can.
//
//go:noinline
func ladderDescend(caller *link, callerAt uintptr, depth int, l *ladder) uint64 {
	here := link{caller, depth}
	if l.target == 0 {
		if caller != nil && addr(caller) != callerAt {
			l.growths = append(l.growths, depth)
			if len(l.growths) == l.maxGrowths {
				return 1
			}
		}
	} else if depth == l.target {
		return 1
	} else if depth == l.target-1 {
		at := addr(&here)
		t0 := nanotime()
		a := ladderDescend(&here, at, depth+1, l)
		t1 := nanotime()
		at2 := addr(&here)
		b := ladderDescend(&here, at2, depth+1, l)
		t2 := nanotime()
		l.first, l.warm, l.moved = t1-t0, t2-t1, at2 != at
		if addr(&here) != at2 {
			l.moved = false // the second call moved it too: not one growth
		}
		return a + b
	}
	return ladderDescend(&here, addr(&here), depth+1, l) + 1
}

// ladderRun runs one descent on a new goroutine.
func ladderRun(l *ladder) {
	done := make(chan struct{})
	go func() {
		ladderDescend(nil, 0, 0, l)
		close(done)
	}()
	<-done
}

func benchGrowthLadder() {
	// No GC during the ladder: a GC may shrink a stack it scans.
	debug.SetGCPercent(-1)
	start := uint64(startingStackSize())
	// Growths from start up to and including the one from ladderLast.
	var discovery ladder
	for s := start; s <= ladderLast; s *= 2 {
		discovery.maxGrowths++
	}
	ladderRun(&discovery)
	if len(discovery.growths) != discovery.maxGrowths {
		fail("growth_ladder go: found %d growths, want %d", len(discovery.growths), discovery.maxGrowths)
	}
	g := discovery.growths
	last := start << (len(g) - 1)
	note("growth_ladder go: frames of about %d bytes (from the depths of the last two growths)",
		(last/2)/uint64(g[len(g)-1]-g[len(g)-2]))
	for i, depth := range discovery.growths {
		size := start << i // the size this growth starts from
		if size < ladderFirst {
			continue
		}
		var best, warm int64
		for run := 0; run < benchRuns; run++ {
			l := ladder{target: depth}
			ladderRun(&l)
			if !l.moved {
				fail("growth_ladder go: the call at depth %d did not grow the %s stack once",
					depth, sizeName(size))
			}
			if run == 0 || l.first-l.warm < best {
				best, warm = l.first-l.warm, l.warm
			}
		}
		benchLine("growth_ladder/"+sizeName(size), "go", float64(best)/1e3, "us/growth")
		note("growth_ladder go: %s -> %s at depth %d: growth %.1f us (warm call %d ns)",
			sizeName(size), sizeName(2*size), depth, float64(best)/1e3, warm)
	}
}
