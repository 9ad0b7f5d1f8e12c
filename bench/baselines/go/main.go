// Command gobench runs the Go baselines of `make bench`, one benchmark per
// process so that no benchmark inherits another's heap, goroutines or
// adaptive starting stack size:
//
//	gobench switch | spawn | parked_mem | deep_recursion | hot_split |
//	        short_lived | growth_ladder | defer | closure
//
// Results go to stdout as "BENCH <benchmark> <implementation> <value>
// <unit>"; checksums and notes go to stderr.  GOMAXPROCS is forced to 1:
// the runs are pinned to one core and compare with single-core runtimes.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"time"
)

// benchRuns is how many timed runs each result is the best (minimum) of.
const benchRuns = 5

// Calibration: grow n until a run takes calibrateTime, then scale it so
// that one run takes about targetRun.
const (
	calibrateTime = 20 * time.Millisecond
	targetRun     = 150 * time.Millisecond
)

var benchmarks = map[string]func(){
	"switch":         benchSwitch,
	"spawn":          benchSpawn,
	"parked_mem":     benchParkedMem,
	"deep_recursion": benchDeepRecursion,
	"hot_split":      benchHotSplit,
	"short_lived":    benchShortLived,
	"growth_ladder":  benchGrowthLadder,
	"defer":          benchDefer,
	"closure":        benchClosure,
}

func main() {
	runtime.GOMAXPROCS(1)
	if len(os.Args) != 2 || benchmarks[os.Args[1]] == nil {
		names := make([]string, 0, len(benchmarks))
		for name := range benchmarks {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: gobench BENCHMARK, one of %v\n", names)
		os.Exit(2)
	}
	benchmarks[os.Args[1]]()
}

// benchLine prints one result in the format shared with the C baselines
// and the runtime's own benchmarks.
func benchLine(bench, impl string, value float64, unit string) {
	fmt.Printf("BENCH %s %s %.4g %s\n", bench, impl, value, unit)
}

// note prints a line on stderr: checksums, depths, how a figure was got.
func note(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// fail reports a broken check and exits: a wrong result is not a result.
func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gobench: "+format+"\n", args...)
	os.Exit(1)
}

// bestPerOp calibrates n so that body(n) takes about targetRun, then
// returns the best of benchRuns runs in nanoseconds per unit of work and
// the last run's checksum.  body returns its checksum and how many units
// of work it did (usually n).  Noise on a pinned core only ever adds time.
func bestPerOp(body func(n int) (sum uint64, units int)) (float64, uint64) {
	n := 1
	var elapsed time.Duration
	var sum uint64
	var units int
	for {
		start := time.Now()
		sum, _ = body(n)
		elapsed = time.Since(start)
		if elapsed >= calibrateTime {
			break
		}
		n *= 2
	}
	n = int(float64(n)*float64(targetRun)/float64(elapsed)) + 1
	best := 0.0
	for run := 0; run < benchRuns; run++ {
		start := time.Now()
		sum, units = body(n)
		perOp := float64(time.Since(start).Nanoseconds()) / float64(units)
		if run == 0 || perOp < best {
			best = perOp
		}
	}
	return best, sum
}

// startingStackSize reads the size Go gives a new goroutine's stack now:
// 2 KiB, or with adaptivestackstart the average scanned at the last GC.
func startingStackSize() uint64 {
	s := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		fail("runtime/metrics has no /gc/stack/starting-size:bytes")
	}
	return s[0].Value.Uint64()
}

// sizeName writes a power-of-two byte count as "4KiB", "64MiB".
func sizeName(n uint64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
