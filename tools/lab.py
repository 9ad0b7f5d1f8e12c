#!/usr/bin/env python3
"""tools/lab.py: the labs' starter trees, made from the project's own code.

    python3 tools/lab.py list              the labs and the regions each takes out
    python3 tools/lab.py check             every region well formed, every lab with a README
    python3 tools/lab.py make LAB OUT      the student tree for LAB in the folder OUT

A lab's solution is the project's real code, marked where the student
writes it. In C and in assembly (.S files go through cpp) a region reads:

    /* LAB backtrace BEGIN: walk the chain of saved frame pointers */
    ... the solution: compiled in the project ...
    /* LAB backtrace ELSE
    ... the starter: inside the comment, so the project never compiles it ...
    LAB backtrace END */

In LAB's starter tree the region becomes the hint and the starter code:

    /* LAB backtrace: walk the chain of saved frame pointers */
    ... the starter ...

Every other lab's regions keep their solutions, so each lab stands alone.
The starter tree is every file git tracks, minus labs/*/hidden (a
teacher's tests) and .ci; unchanged files keep their modification times,
so a copied build/ folder rebuilds only what the lab changed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = re.compile(r"^(\s*)/\* LAB (\w[\w-]*) BEGIN: (.*?) \*/\s*$")
ELSE = re.compile(r"^\s*/\* LAB (\w[\w-]*) ELSE\s*$")
END = re.compile(r"^\s*LAB (\w[\w-]*) END \*/\s*$")
SOURCE_EXT = (".c", ".h", ".S")


class LabError(Exception):
    pass


def tracked_files():
    out = subprocess.run(["git", "-C", TOP, "ls-files", "-z"], check=True,
                         capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f]


def regions(path, text):
    """The regions of one file: [(lab, hint, first line, last line, solution, starter)]."""
    found, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if not m:
            for rx, what in ((ELSE, "ELSE"), (END, "END")):
                if rx.match(lines[i]):
                    raise LabError("%s:%d: LAB %s without a BEGIN" % (path, i + 1, what))
            i += 1
            continue
        indent, lab, hint = m.groups()
        start, j = i, i + 1
        while j < len(lines) and not ELSE.match(lines[j]):
            if BEGIN.match(lines[j]) or END.match(lines[j]):
                raise LabError("%s:%d: LAB %s: another marker before its ELSE" % (path, j + 1, lab))
            j += 1
        if j == len(lines):
            raise LabError("%s:%d: LAB %s BEGIN has no ELSE" % (path, start + 1, lab))
        if ELSE.match(lines[j]).group(1) != lab:
            raise LabError("%s:%d: LAB %s BEGIN closed by another lab's ELSE" % (path, j + 1, lab))
        k = j + 1
        while k < len(lines) and not END.match(lines[k]):
            if "*/" in lines[k] or BEGIN.match(lines[k]):
                raise LabError("%s:%d: LAB %s: the starter may not close the comment early"
                               % (path, k + 1, lab))
            k += 1
        if k == len(lines) or END.match(lines[k]).group(1) != lab:
            raise LabError("%s:%d: LAB %s ELSE has no END" % (path, j + 1, lab))
        found.append((lab, hint, start, k, lines[start + 1:j], lines[j + 1:k], indent))
        i = k + 1
    return found


def all_regions():
    """{lab: [(path, hint, line)]} over every tracked source file."""
    labs = {}
    for f in tracked_files():
        if not f.endswith(SOURCE_EXT):
            continue
        with open(os.path.join(TOP, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for lab, hint, start, _, _, _, _ in regions(f, text):
            labs.setdefault(lab, []).append((f, hint, start + 1))
    return labs


def starter_text(path, text, lab):
    """text with LAB's regions replaced by their hints and starters."""
    lines = text.split("\n")
    out, last = [], 0
    for name, hint, start, end, _, starter, indent in regions(path, text):
        if name != lab:
            continue
        out += lines[last:start]
        out.append("%s/* LAB %s: %s */" % (indent, lab, hint))
        out += starter
        last = end + 1
    return "\n".join(out + lines[last:])


def lab_names():
    d = os.path.join(TOP, "labs")
    return sorted(n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n, "README.md")))


def make(lab, out):
    if lab not in lab_names():
        raise LabError("no lab %r: the labs are %s" % (lab, ", ".join(lab_names())))
    if os.path.exists(out) and os.listdir(out):
        raise LabError("%s exists and is not empty: give a new folder" % out)
    changed = 0
    for f in tracked_files():
        if f.startswith(".ci/") or re.match(r"labs/[^/]+/hidden/", f):
            continue
        src, dst = os.path.join(TOP, f), os.path.join(out, f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if f.endswith(SOURCE_EXT):
            with open(src, encoding="utf-8") as fh:
                text = fh.read()
            new = starter_text(f, text, lab)
            if new != text:
                with open(dst, "w", encoding="utf-8") as fh:
                    fh.write(new)
                shutil.copymode(src, dst)
                changed += 1
                continue
        shutil.copy2(src, dst)
    if not changed:
        raise LabError("lab %s marks no region in any source file" % lab)
    return changed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="action", required=True)
    sub.add_parser("list")
    sub.add_parser("check")
    mk = sub.add_parser("make")
    mk.add_argument("lab")
    mk.add_argument("out")
    a = ap.parse_args()
    try:
        if a.action == "list":
            for lab, places in sorted(all_regions().items()):
                print(lab)
                for f, hint, line in places:
                    print("  %s:%d  %s" % (f, line, hint))
        elif a.action == "check":
            labs, names = all_regions(), lab_names()
            for lab in names:
                if lab not in labs:
                    raise LabError("labs/%s has a README but marks no region" % lab)
            for lab in labs:
                if lab not in names:
                    raise LabError("regions of lab %s, which has no labs/%s/README.md" % (lab, lab))
            print("labs: %d labs, %d regions, all well formed" %
                  (len(names), sum(len(v) for v in labs.values())))
        else:
            n = make(a.lab, a.out)
            print("lab %s: the student tree is in %s (%d files with the solution taken out); "
                  "see labs/%s/README.md there" % (a.lab, a.out, n, a.lab))
    except LabError as e:
        sys.exit("lab: " + str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
