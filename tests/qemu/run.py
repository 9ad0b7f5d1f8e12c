#!/usr/bin/env python3
"""Runs the QEMU test files in parallel and counts the results.

    tests/qemu/run.py --image build/morestack.img [--counts FILE] [-j N] [-k PATTERN] [FILES]

Each test file boots once for its shared tests, and once more for each
@own_machine test; those boots are independent jobs spread over -j
workers (default: the number of CPUs). Serial logs go to build/qemu-logs/
(NAME.log), with what the screen showed beside them (NAME.screen.log) for
machines without a serial port.
"""
import argparse
import concurrent.futures
import glob
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def jobs_of(path, pattern):
    """Splits a file's tests into boots: one shared boot, plus one per @own_machine test."""
    mod = load(path)
    tests = [(n, f) for n, f in vars(mod).items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    if pattern:
        tests = [t for t in tests if pattern in t[0] or pattern in path]
    config = getattr(mod, "MACHINE", {})
    name = os.path.basename(path)[:-3]
    shared = [t for t in tests if not getattr(t[1], "own_machine", False)]
    jobs = [(name, shared, config)] if shared else []
    for t in tests:
        if getattr(t[1], "own_machine", False):
            jobs.append(("%s.%s" % (name, t[0]), [t], getattr(t[1], "machine_config", config)))
    return jobs


def tail_name(m):
    return "serial log tail" if m.serial else "screen tail (no serial port)"


def run_job(image, logdir, job):
    """Boots one machine and runs the job's tests on it; returns [(name, ok, message, secs)]."""
    name, tests, config = job
    m = harness.Machine(image, log_path=os.path.join(logdir, name + ".log"), **config)
    results = []
    try:
        try:
            m.boot()
            print("  boot %s: prompt after %.1f s wall (%s, %s)" %
                  (name, m.boot_seconds, m.machine, m.memory), flush=True)
        except harness.TestFailure as e:
            msg = "boot failed: %s\n  %s:\n%s" % (e, tail_name(m), harness.indent(m.tail()))
            return [("%s::%s" % (name.split(".")[0], t[0]), False, msg, 0) for t in tests]
        for tname, fn in tests:
            t0 = time.monotonic()
            full = "%s::%s" % (name.split(".")[0], tname)
            try:
                fn(m)
                results.append((full, True, "", time.monotonic() - t0))
            except harness.TestFailure as e:
                results.append((full, False, "%s\n  %s:\n%s" % (e, tail_name(m), harness.indent(m.tail(25))),
                                time.monotonic() - t0))
            except Exception:
                results.append((full, False, traceback.format_exc(), time.monotonic() - t0))
            if m.proc.poll() is not None and (tname, fn) != tests[-1]:
                # The machine is gone: the remaining tests of this boot cannot run.
                idx = tests.index((tname, fn))
                for rest, _ in tests[idx + 1:]:
                    results.append(("%s::%s" % (name.split(".")[0], rest), False,
                                    "not run: QEMU exited (status %s) during %s" % (m.proc.poll(), tname), 0))
                break
        return results
    finally:
        m.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", required=True)
    ap.add_argument("--counts")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-k", dest="pattern")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if not os.path.exists(a.image):
        sys.exit("run.py: no image %s: run make first" % a.image)
    files = a.files or sorted(glob.glob(os.path.join(HERE, "test_*.py")))
    logdir = os.path.join(harness.TOP, "build", "qemu-logs")
    os.makedirs(logdir, exist_ok=True)
    jobs = [j for f in files for j in jobs_of(f, a.pattern)]
    t0 = time.monotonic()
    passed = failed = 0
    print("qemu: %d boots for %d tests, %d at a time" % (len(jobs), sum(len(j[1]) for j in jobs), a.j),
          flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as pool:
        futures = [pool.submit(run_job, a.image, logdir, j) for j in jobs]
        for fut in concurrent.futures.as_completed(futures):
            for name, ok, msg, secs in fut.result():
                if ok:
                    passed += 1
                    print("  PASS %s (%.1fs)" % (name, secs), flush=True)
                else:
                    failed += 1
                    print("  FAIL %s\n%s" % (name, harness.indent(msg)), flush=True)
    print("qemu: %d passed, %d failed in %.1fs (logs in build/qemu-logs)" %
          (passed, failed, time.monotonic() - t0))
    if a.counts:
        with open(a.counts, "w") as f:
            f.write("%d %d\n" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
