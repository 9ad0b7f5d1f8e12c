#!/usr/bin/env python3
"""Runs the tools suite (tests/tools/test_*.py, Python unittest) and counts
the results for `make test`.

    tests/tools/run.py [--counts FILE] [-k PATTERN]

Prints one line per test, PASS or FAIL with its name (a failure's traceback
follows). A skipped test counts as a failure: nothing passes untested.
"""
import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.passed = 0
        self.failed = 0

    def startTest(self, test):
        super().startTest(test)
        self.t0 = time.monotonic()

    def _name(self, test):
        return test.id()

    def addSuccess(self, test):
        self.passed += 1
        print("  PASS %s (%.1fs)" % (self._name(test), time.monotonic() - self.t0), flush=True)

    def _fail(self, test, text):
        self.failed += 1
        print("  FAIL %s\n%s" % (self._name(test), "\n".join("    " + l for l in text.splitlines())),
              flush=True)

    def addFailure(self, test, err):
        self._fail(test, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        self._fail(test, self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        self._fail(test, "skipped (counted as a failure): %s" % reason)

    def addExpectedFailure(self, test, err):
        self._fail(test, "expected failures are not allowed here")

    def addUnexpectedSuccess(self, test):
        self._fail(test, "unexpected success")


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts")
    ap.add_argument("-k", dest="pattern")
    a = ap.parse_args()
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = [t for t in flatten(suite) if not a.pattern or a.pattern in t.id()]
    result = Result()
    t0 = time.monotonic()
    print("tools: %d tests" % len(tests), flush=True)
    # One flat suite: it runs setUpClass/tearDownClass around each class's tests.
    unittest.TestSuite(tests).run(result)
    print("tools: %d passed, %d failed in %.1fs" % (result.passed, result.failed,
                                                    time.monotonic() - t0))
    if a.counts:
        with open(a.counts, "w") as f:
            f.write("%d %d\n" % (result.passed, result.failed))
    return 1 if result.failed or not result.passed else 0


if __name__ == "__main__":
    sys.exit(main())
