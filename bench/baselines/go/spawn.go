package main

// The `spawn` benchmark: create a goroutine that does nothing but report
// back, run it to its exit and learn that it is done, one at a time.

func spawnOnce(n int) (uint64, int) {
	done := make(chan int)
	var sum uint64
	for i := 0; i < n; i++ {
		go func(v int) { done <- v + 1 }(i)
		// With GOMAXPROCS=1 the send makes this goroutine runnable and the
		// child runs on to its exit before the receive returns.
		if got := <-done; got != i+1 {
			fail("spawn go: got %d, want %d", got, i+1)
		}
		sum += uint64(i + 1)
	}
	return sum, n
}

func benchSpawn() {
	ns, sum := bestPerOp(spawnOnce)
	benchLine("spawn", "go", ns, "ns/spawn")
	note("spawn go: checksum %d", sum)
}
