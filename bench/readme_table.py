#!/usr/bin/env python3
"""Print the README's benchmark table (Markdown) from one `make bench` run.

    python3 bench/readme_table.py build/bench/results.txt

Every figure comes from that file's BENCH lines (bench/report.py reads the
same lines); a figure the run did not produce is printed as "?", so a
table with a "?" in it was not made from one complete run.
"""
import sys

L = "growth_ladder/"


def load(path):
    values = {}
    for line in open(path):
        f = line.split()
        if len(f) == 5 and f[0] == "BENCH":
            try:
                values[(f[1], f[2], f[4])] = float(f[3])
            except ValueError:
                pass
    return values


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: readme_table.py RESULTS")
    v = load(sys.argv[1])

    def g(bench, impl, unit, scale=1.0):
        x = v.get((bench, impl, unit))
        if x is None:
            return "?"
        x /= scale
        if x >= 1000:
            return "{:,.0f}".format(x)
        if x >= 100:
            return "{:.0f}".format(x)
        if x >= 10:
            return "{:.1f}".format(x)
        return "{:.2f}".format(x)

    def count(bench, impl, unit):
        x = v.get((bench, impl, unit))
        return "?" if x is None else "{:,.0f}".format(x)

    ns = "ns/call"
    rows = [
        ("switch (yield ping-pong)", g("switch", "morestack", "ns/switch") + " ns",
         "fcontext %s, Go Gosched %s, Go channel %s, swapcontext %s, PCL %s" % (
             g("switch", "fcontext", "ns/switch"), g("switch", "go-gosched", "ns/switch"),
             g("switch", "go-chan", "ns/switch"), g("switch", "swapcontext", "ns/switch"),
             g("switch", "pcl", "ns/switch"))),
        ("switch through an unbuffered channel", g("switch", "morestack-chan", "ns/switch") + " ns",
         "Go " + g("switch", "go-chan", "ns/switch")),
        ("1,000,000 frames deep, with growth", "%s ms (%s moves)" % (
            g("deep_recursion", "morestack", "ms"), count("deep_recursion", "morestack", "grows")),
         "Go %s, split-stack %s, no growth %s" % (
             g("deep_recursion", "go", "ms"), g("deep_recursion", "splitstack-nosigblock", "ms"),
             g("deep_recursion", "plain", "ms"))),
        ("hot split (10,000,000 calls at a boundary)", g("hot_split", "morestack", "ns/iter") + " ns/call",
         "split-stack %s, Go %s, plain call %s" % (
             g("hot_split", "splitstack", "ns/iter"), g("hot_split", "go", "ns/iter"),
             g("hot_split", "plain", "ns/iter"))),
        ("a call that defers one call", g("defer", "morestack", ns) + " ns",
         "floors of a library defer: register, run, call %s; the same keeping a record %s; "
         "a return-address hijack alone %s; plain call %s, `cleanup` attribute %s; "
         "Go: plain %s, open-coded %s, in a loop (record) %s" % (
             g("defer", "library-call-floor", ns), g("defer", "library-record-floor", ns),
             g("defer", "return-hijack-floor", ns), g("defer", "c-plain-call", ns),
             g("defer", "c-cleanup-attribute", ns), g("defer", "go-plain-call", ns),
             g("defer", "go-open-coded", ns), g("defer", "go-record", ns))),
        ("a closure call (trampoline pool)", g("closure", "morestack", ns) + " ns",
         "indirect call %s, direct %s, libffi %s, GCC nested function %s, Go %s" % (
             g("closure", "c-indirect-call", ns), g("closure", "c-direct-call", ns),
             g("closure", "libffi", ns), g("closure", "gcc-nested", ns), g("closure", "go", ns))),
        ("memory per parked task (100,000)",
         "%s bytes RSS (hibernated: %s record + image); %s keeping stacks" % (
             g("parked_mem", "morestack", "bytes/task"), g("parked_mem", "morestack-runtime", "bytes/task"),
             g("parked_mem", "morestack-no-hibernation", "bytes/task")),
         "Go %s (%s of it stack)" % (g("parked_mem", "go", "bytes/task"),
                                     g("parked_mem", "go-stack", "bytes/task"))),
        ("Linux port: spawn", "%s ns (fresh addresses: %s)" % (
            g("spawn", "morestack", "ns/spawn"), g("spawn", "morestack-fault-on-free", "ns/spawn")),
         "Go " + g("spawn", "go", "ns/spawn")),
        ("Linux port: 4->8 KiB growth", "%s us (move %s)" % (
            g(L + "4KiB", "morestack", "us/growth"), g(L + "4KiB", "morestack-move", "us/growth")),
         "Go %s us; map+unmap floor %s us" % (
             g(L + "4KiB", "go", "us/growth"), g(L + "4KiB", "linux-map-unmap-floor", "us/growth"))),
        ("Linux port: 1 MiB / 64 MiB growth", "%s us / %s ms" % (
            g(L + "1MiB", "morestack", "us/growth"), g(L + "64MiB", "morestack", "us/growth", 1000)),
         "Go %s us / %s ms" % (g(L + "1MiB", "go", "us/growth"), g(L + "64MiB", "go", "us/growth", 1000))),
        ("Linux port: 1,000,000 short-lived 16 KiB tasks",
         "%s ns each (fresh addresses, one-page first stacks: %s)" % (
             g("short_lived", "morestack", "ns/task"), g("short_lived", "morestack-fault-on-free", "ns/task")),
         "Go %s (default), %s (adaptivestackstart=0)" % (
             g("short_lived", "go-default", "ns/task"), g("short_lived", "go-adaptive0", "ns/task"))),
        ("bare metal: a switch / a spawn", "%s / %s instructions (reuse: %s)" % (
            g("switch", "morestack-qemu", "insns/switch"), g("spawn", "morestack-qemu", "insns/spawn"),
            g("spawn", "morestack-qemu-reuse", "insns/spawn")),
         "floor: the exit's scan and clear of a 4 KiB stack, %s" %
         g("spawn", "morestack-qemu-scan-floor", "insns/spawn")),
        ("bare metal: a 4->8 KiB / 64->128 KiB / 1 MiB growth", "%s / %s / %s instructions" % (
            g(L + "4KiB", "morestack-qemu", "insns/growth"), g(L + "64KiB", "morestack-qemu", "insns/growth"),
            g(L + "1024KiB", "morestack-qemu", "insns/growth")), ""),
        ("bare metal: a short-lived 16 KiB task",
         "%s instructions (reuse: %s; adaptive first stacks: %s)" % (
             g("short_lived", "morestack-qemu", "insns/task"),
             g("short_lived", "morestack-qemu-reuse", "insns/task"),
             g("short_lived", "morestack-qemu-adaptive", "insns/task")),
         "floor: the exit's scan and clear of a 32 KiB stack holding 16 KiB, %s" %
         g("short_lived", "morestack-qemu-scan-floor", "insns/task")),
        ("bare metal: memory per parked task (100,000)",
         "%s bytes, every page counted (hibernated)" % g("parked_mem", "morestack-qemu", "bytes/task"), ""),
    ]
    print("| benchmark | morestack | baselines |")
    print("| --- | --- | --- |")
    for a, b, c in rows:
        print("| %s | %s | %s |" % (a, b, c))


if __name__ == "__main__":
    main()
