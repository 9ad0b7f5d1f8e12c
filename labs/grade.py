#!/usr/bin/env python3
"""labs/grade.py: grades a lab, as xv6's gradelib does: each test with its
points, then `Score: N/M`.

    python3 labs/grade.py LAB [--image IMG] [--json] [--timeout-scale F] [-j N]

The tests are labs/LAB/grade.py, and labs/LAB/hidden/*.py when a teacher
adds them there (the starter tree leaves that folder out). They run on
the QEMU harness (tests/qemu/harness.py) against the image, one boot per
test file and one for each @own_machine test. A failing boot's serial log
is kept in build/labs/LAB/ (passing ones are removed). --timeout-scale (or
MORESTACK_TIMEOUT_SCALE) multiplies every time limit, for slow laptops.
Exits 0 only with full marks.
"""
import argparse
import glob
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
sys.path.insert(0, HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("lab")
    ap.add_argument("--image", default=os.path.join(TOP, "build", "morestack.img"))
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout, for course tools")
    ap.add_argument("--timeout-scale", type=float, default=None)
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    if a.timeout_scale:
        os.environ["MORESTACK_TIMEOUT_SCALE"] = str(a.timeout_scale)
    import harness  # noqa: E402  (reads MORESTACK_TIMEOUT_SCALE)
    import run  # noqa: E402  (tests/qemu/run.py: jobs and boots)
    labdir = os.path.join(HERE, a.lab)
    if not os.path.isfile(os.path.join(labdir, "grade.py")):
        labs = sorted(d for d in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, d, "grade.py")))
        sys.exit("grade: no lab %r: the labs are %s" % (a.lab, ", ".join(labs)))
    if not os.path.exists(a.image):
        sys.exit("grade: no image %s: run make first" % a.image)
    files = [os.path.join(labdir, "grade.py")] + sorted(glob.glob(os.path.join(labdir, "hidden", "*.py")))
    logdir = os.path.join(TOP, "build", "labs", a.lab)
    os.makedirs(logdir, exist_ok=True)
    points = {}
    jobs = []
    for f in files:
        mod = run.load(f)
        for name, fn in vars(mod).items():
            if name.startswith("test_") and callable(fn):
                points["%s::%s" % (os.path.basename(f)[:-3] if "hidden" in f else "grade", name)] = \
                    getattr(fn, "points", 1)
        for name, tests, config in run.jobs_of(f, None):
            prefix = "hidden-" + name if "hidden" in f else name
            jobs.append((prefix, tests, config))
    t0 = time.monotonic()
    results = []
    import concurrent.futures
    import contextlib
    # The harness says when each machine is up; with --json that goes to stderr.
    with contextlib.redirect_stdout(sys.stderr if a.json else sys.stdout), \
            concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as pool:
        for res in pool.map(lambda j: (j[0], run.run_job(a.image, logdir, j)), jobs):
            results.append(res)
    tests, score, total = [], 0, 0
    for job, res in results:
        failed_boot = False
        for full, ok, msg, secs in res:
            test = full.split("::", 1)[1]
            key = ("%s::%s" % (job.split(".")[0].replace("hidden-", ""), test) if job.startswith("hidden-")
                   else "grade::" + test)
            p = points.get(key, 1)
            total += p
            score += p if ok else 0
            failed_boot |= not ok
            tests.append({"name": test, "hidden": job.startswith("hidden-"), "points": p if ok else 0,
                          "max": p, "ok": ok, "seconds": round(secs, 1), "message": msg})
        log = os.path.join(logdir, job + ".log")
        if not failed_boot and os.path.exists(log):
            os.remove(log)
    if a.json:
        print(json.dumps({"lab": a.lab, "score": score, "max": total,
                          "seconds": round(time.monotonic() - t0, 1), "tests": tests}, indent=1))
    else:
        for t in tests:
            print("%s: %s %s (%d/%d) (%.1fs)" % (a.lab, t["name"], "OK" if t["ok"] else "FAIL",
                                                 t["points"], t["max"], t["seconds"]))
            if not t["ok"]:
                print(harness.indent(t["message"]))
        if score < total:
            print("serial logs of the failing boots: %s" % os.path.relpath(logdir, os.getcwd()))
        print("Score: %d/%d" % (score, total))
    return 0 if score == total else 1


if __name__ == "__main__":
    sys.exit(main())
