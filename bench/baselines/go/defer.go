package main

// The `defer` and `closure` benchmarks, Go's side.
//
// defer: a call to a function that defers one call, which runs at its
// return. Go 1.19 open-codes a defer in a simple function (inline code at
// each return), and falls back to a record (deferproc/deferreturn) for a
// defer in a loop: both are measured. A plain call is the reference.
// closure: a call through a func value that captures a variable.

//go:noinline
func plainCall(x *uint64) { *x++ }

//go:noinline
func deferOpenCoded(x *uint64) {
	defer func() { *x++ }()
}

//go:noinline
func deferInLoop(x *uint64, k int) {
	for i := 0; i < k; i++ {
		defer func() { *x++ }()
	}
}

func benchDefer() {
	ns, sum := bestPerOp(func(n int) (uint64, int) {
		var x uint64
		for i := 0; i < n; i++ {
			plainCall(&x)
		}
		return x, n
	})
	benchLine("defer", "go-plain-call", ns, "ns/call")
	note("defer go plain: checksum %d", sum)
	ns, sum = bestPerOp(func(n int) (uint64, int) {
		var x uint64
		for i := 0; i < n; i++ {
			deferOpenCoded(&x)
		}
		return x, n
	})
	benchLine("defer", "go-open-coded", ns, "ns/call")
	note("defer go open-coded: checksum %d", sum)
	ns, sum = bestPerOp(func(n int) (uint64, int) {
		var x uint64
		for i := 0; i < n; i++ {
			deferInLoop(&x, 1)
		}
		return x, n
	})
	benchLine("defer", "go-record", ns, "ns/call")
	note("defer go record (a defer in a loop): checksum %d", sum)
}

//go:noinline
func makeCounter() func() uint64 {
	var x uint64
	return func() uint64 { x++; return x }
}

func benchClosure() {
	ns, sum := bestPerOp(func(n int) (uint64, int) {
		f := makeCounter()
		var v uint64
		for i := 0; i < n; i++ {
			v = f()
		}
		return v, n
	})
	benchLine("closure", "go", ns, "ns/call")
	note("closure go: checksum %d", sum)
}
