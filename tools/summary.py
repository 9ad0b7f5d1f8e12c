#!/usr/bin/env python3
"""Sums the suites' results for `make test`.

Every suite writes build/results/<suite>.counts holding "PASSED FAILED".
A suite listed on the command line with no counts file counts as one
failure (it crashed before reporting). Prints a line per suite, then the
last line `N passed, N failed`; exits 1 if anything failed.
"""
import os
import sys


def main():
    results, suites = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for suite in suites:
        path = os.path.join(results, suite + ".counts")
        try:
            with open(path) as f:
                p, fl = (int(x) for x in f.read().split()[:2])
        except (OSError, ValueError):
            print(f"  {suite:12s} did not report results ({path}): counted as 1 failure")
            p, fl = 0, 1
        print(f"  {suite:12s} {p} passed, {fl} failed")
        passed += p
        failed += fl
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
