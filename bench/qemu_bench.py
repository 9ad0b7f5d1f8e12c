#!/usr/bin/env python3
"""Runs the kernel's `bench` command in QEMU with -icount shift=0 and prints
its BENCH lines (instructions per switch, spawn, growth, short-lived task;
bytes per parked task), for bench/report.py.

    python3 bench/qemu_bench.py --image build/morestack.img >> build/bench/results.txt

Under icount one guest nanosecond is one instruction, so the figures do not
depend on the host's speed or load; booting takes about 40 s.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "qemu"))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", required=True)
    a = ap.parse_args()
    m = harness.Machine(a.image, memory="2G", icount=True)
    try:
        m.boot()
        out = m.cmd("bench", timeout=1800)
    except harness.TestFailure as e:
        sys.exit("qemu_bench: %s\n%s" % (e, m.tail()))
    finally:
        m.close()
    lines = [l for l in out.splitlines() if l.startswith("BENCH ")]
    if not any("insns/" in l for l in lines):
        sys.exit("qemu_bench: no instruction counts in the output:\n" + out)
    print("\n".join(lines))
    sys.stderr.write("qemu_bench: %d figures, boot took %.0f s\n" % (len(lines), m.boot_seconds))


if __name__ == "__main__":
    main()
