package main

// The `switch` benchmark: two goroutines hand control to each other.  With
// GOMAXPROCS=1 only one runs at a time, so every hand-over is one switch.

import (
	"runtime"
	"sync"
)

// gosched: two goroutines each call runtime.Gosched n/2 times.  Gosched
// puts the caller on the global run queue and runs the next runnable
// goroutine, the other one, so they alternate; but now and then the
// scheduler's fairness checks of the global queue pick the caller again
// (about 3% of the calls).  `last` tells the two apart (no lock: with
// GOMAXPROCS=1 only one runs at a time), and only real transfers of
// control are counted.
func goschedPingPong(n int) (uint64, int) {
	var calls uint64
	switches, last := 0, -1
	var wg sync.WaitGroup
	player := func(me int) {
		defer wg.Done()
		for i := 0; i < n/2; i++ {
			if last != me {
				switches++
			}
			last = me
			calls++
			runtime.Gosched()
		}
	}
	wg.Add(2)
	go player(0)
	go player(1)
	wg.Wait()
	if switches < n/2 {
		fail("switch go-gosched: %d switches in %d Gosched calls", switches, calls)
	}
	goschedShare = float64(switches) / float64(calls)
	return calls, switches
}

// goschedShare is the share of Gosched calls that switched, last run.
var goschedShare float64

// chan: a ping-pong over two unbuffered channels.  A send hands the value
// to the blocked receiver and makes it runnable; the sender then blocks on
// its own receive and the other runs: two switches per round trip.
func chanPingPong(n int) (uint64, int) {
	ping, pong := make(chan uint64), make(chan uint64)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	var v uint64
	for i := 0; i < n/2; i++ {
		ping <- v
		if w := <-pong; w != v+1 {
			fail("switch go-chan: got %d, want %d", w, v+1)
		} else {
			v = w
		}
	}
	close(ping)
	<-pong
	return v, n / 2 * 2
}

func benchSwitch() {
	ns, sum := bestPerOp(goschedPingPong)
	benchLine("switch", "go-gosched", ns, "ns/switch")
	note("switch go-gosched: checksum %d Gosched calls, %.1f%% of them switched",
		sum, 100*goschedShare)
	ns, sum = bestPerOp(chanPingPong)
	benchLine("switch", "go-chan", ns, "ns/switch")
	note("switch go-chan: checksum %d", sum)
}
