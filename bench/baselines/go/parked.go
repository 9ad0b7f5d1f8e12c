package main

// The `parked_mem` benchmark: what 100,000 goroutines blocked on a
// channel cost in memory.
//
//	go        Sys delta: memory the runtime obtained from the OS for them
//	          (stacks, g structures, sudogs, heap spans, their metadata).
//	go-stack  StackInuse delta: the stacks alone.
// HeapInuse+StackInuse delta is printed on stderr too.  A single
// measurement: memory counts do not jitter like times do.

import (
	"runtime"
	"sync"
)

const parkedTasks = 100000

func benchParkedMem() {
	release := make(chan struct{})
	var started, exited sync.WaitGroup
	var before, after runtime.MemStats

	runtime.GC()
	runtime.ReadMemStats(&before)
	started.Add(parkedTasks)
	exited.Add(parkedTasks)
	for i := 0; i < parkedTasks; i++ {
		go func() {
			started.Done()
			<-release
			exited.Done()
		}()
	}
	started.Wait()
	// With GOMAXPROCS=1 every goroutine that called Done has run on to
	// its receive and parked before this one runs again; one more round
	// of the scheduler makes sure of the last one.
	runtime.Gosched()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := runtime.NumGoroutine(); n < parkedTasks+1 {
		fail("parked_mem go: only %d goroutines alive", n)
	}

	per := func(a, b uint64) float64 { return float64(int64(b)-int64(a)) / parkedTasks }
	sys := per(before.Sys, after.Sys)
	stack := per(before.StackInuse, after.StackInuse)
	inuse := per(before.HeapInuse+before.StackInuse, after.HeapInuse+after.StackInuse)
	benchLine("parked_mem", "go", sys, "bytes/task")
	benchLine("parked_mem", "go-stack", stack, "bytes/task")
	note("parked_mem go: per task Sys %.0f, HeapInuse+StackInuse %.0f, StackInuse %.0f bytes; "+
		"starting stack %d bytes", sys, inuse, stack, startingStackSize())

	close(release)
	exited.Wait()
	note("parked_mem go: checksum %d goroutines parked and released", parkedTasks)
}
