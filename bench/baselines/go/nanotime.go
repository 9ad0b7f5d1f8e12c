package main

import _ "unsafe" // for go:linkname

// nanotime is the runtime's monotonic clock.  Unlike time.Now it is
// nosplit, so calling it never grows the stack: growth_ladder needs a
// clock that cannot move the stack it is timing.  (A body-less function
// needs the empty nanotime.s beside this file.)
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
