"""Keeps the guided tour in docs/ honest: every source file and function a
page names exists, every link between pages resolves, and every page ends
with its Questions for students.

The tour is the pages docs/README.md links to (its index), plus the index
itself. In their prose (not in fenced blocks, which hold real output and
drawings), an inline code span that looks like a path in this tree is
checked (the tour puts output and drawings in fenced blocks only):

    `kernel/trap.c`               the file exists
    `tests/qemu/test_*.py`        at least one file matches
    `tests/qemu/`                 the folder exists
    `kernel/trap.c:trap`          the file exists and names `trap` as a word
    `Makefile:SHELL_C`            (a variable, a label, a macro: any word)

Spans that name something outside this tree are left alone, by their first
folder: `build/` (what make writes), `src/` (Go's source tree, as in
`src/runtime/preempt.go`), `EFI/` (the path on the stick's partition).
"""
import glob
import os
import re
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DOCS = os.path.join(TOP, "docs")

# The reference pages written before the tour: the tour links to them
# instead of restating them; they are not tour pages (no Questions).
REFERENCE_PAGES = {"go-semantics.md", "stack-moves.md", "real-pc.md"}
OUTSIDE = ("build/", "src/", "EFI/")
TOP_FILES = {"Makefile", "README.md"}

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
PATHLIKE = re.compile(r"^(?:[A-Za-z0-9_.-]+/)+[A-Za-z0-9_.*-]*(?::[A-Za-z_][A-Za-z0-9_]*)?$")
TOPFILE = re.compile(r"^(Makefile|README\.md)(?::([A-Za-z_][A-Za-z0-9_]*))?$")
LINK = re.compile(r"\[[^\]]*\]\(([^)#\s]+)(#[^)]*)?\)")


def prose(text):
    """The page without its fenced blocks: what is written, not what is pasted."""
    return FENCE.sub("", text)


def named_paths(text):
    """(path, function or None) for every path-like inline code span of the prose."""
    found = []
    for span in SPAN.findall(prose(text)):
        span = span.strip()
        m = TOPFILE.match(span)
        if m:
            found.append((m.group(1), m.group(2)))
            continue
        if not PATHLIKE.match(span) or span.startswith(OUTSIDE):
            continue
        path, _, func = span.partition(":")
        found.append((path, func or None))
    return found


def problems(text, top=TOP):
    """What a page names that the tree does not have, in words (empty: all found)."""
    bad = []
    for path, func in named_paths(text):
        full = os.path.join(top, path)
        if any(c in path for c in "*?["):
            matches = glob.glob(full)
            if not matches:
                bad.append("`%s`: no file matches" % path)
            continue
        if path.endswith("/"):
            if not os.path.isdir(full):
                bad.append("`%s`: no such folder" % path)
            continue
        if not os.path.isfile(full):
            bad.append("`%s`: no such file" % path)
            continue
        if func:
            with open(full, encoding="utf-8", errors="replace") as f:
                if not re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(func), f.read()):
                    bad.append("`%s:%s`: %s does not name %s" % (path, func, path, func))
    return bad


def ends_with_questions(text):
    """True if the last section is '## Questions' with at least one list item."""
    heads = [m for m in re.finditer(r"^## (.+)$", text, re.M)]
    if not heads or heads[-1].group(1).strip() != "Questions":
        return False
    tail = text[heads[-1].end():]
    return re.search(r"^\s*(?:\d+\.|-|\*) \S", tail, re.M) is not None


def tour_pages():
    """The index's pages, in its order: the links of docs/README.md to docs/*.md."""
    with open(os.path.join(DOCS, "README.md")) as f:
        index = f.read()
    pages = []
    for target, _ in LINK.findall(index):
        name = os.path.basename(target)
        if target.endswith(".md") and "/" not in target and name not in REFERENCE_PAGES \
                and name not in pages:
            pages.append(name)
    return pages


def read(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return f.read()


class CheckerTest(unittest.TestCase):
    """The checker itself finds what is missing (else the tour tests prove nothing)."""

    def test_a_missing_file_and_function_are_found(self):
        page = ("Open `kernel/trap.c:trap` and `kernel/trap.c:no_such_function_here`,\n"
                "then `kernel/no_such_file.c`, `tests/qemu/test_*.py`, `no_such_dir/`,\n"
                "`build/kernel.elf` and Go's `src/runtime/preempt.go`.\n\n"
                "```\nkernel/also_missing.c in a pasted block is not checked\n```\n")
        self.assertEqual(problems(page), [
            "`kernel/trap.c:no_such_function_here`: kernel/trap.c does not name "
            "no_such_function_here",
            "`kernel/no_such_file.c`: no such file",
            "`no_such_dir/`: no such folder",
        ])

    def test_a_word_inside_another_is_not_a_function(self):
        # rt_defer is a macro of defer.h; defer.c has only rt_defer_args and friends.
        self.assertEqual(problems("`runtime/defer.h:rt_defer`"), [])
        self.assertEqual(len(problems("`kernel/trap.c:tra`")), 1)

    def test_questions_must_come_last(self):
        self.assertTrue(ends_with_questions("# A\n\ntext\n\n## Questions\n\n1. Why?\n"))
        self.assertFalse(ends_with_questions("# A\n\n## Questions\n\n1. Why?\n\n## More\n\ntext\n"))
        self.assertFalse(ends_with_questions("# A\n\n## Questions\n\nnone yet\n"))


class TourTest(unittest.TestCase):
    """The pages of docs/ against the tree they describe."""

    def test_the_index_lists_the_tour(self):
        pages = tour_pages()
        self.assertGreaterEqual(len(pages), 10, "docs/README.md links to %s" % pages)
        on_disk = {n for n in os.listdir(DOCS) if n.endswith(".md")}
        unlisted = on_disk - set(pages) - REFERENCE_PAGES - {"README.md"}
        self.assertEqual(unlisted, set(), "pages in docs/ that the index does not list")

    # One assertion per test over every page (tests/tools/run.py counts
    # whole tests; it does not report unittest's subtests).
    def test_every_named_path_and_function_exists(self):
        bad = []
        for name in ["README.md"] + tour_pages():
            text = read(name)
            if name != "README.md" and len(named_paths(text)) < 3:
                bad.append("docs/%s names almost no source files" % name)
            bad += ["docs/%s: %s" % (name, p) for p in problems(text)]
        self.assertEqual(bad, [], "the tour names what the tree does not have")

    def test_every_link_resolves(self):
        bad = []
        for name in ["README.md"] + tour_pages():
            for target, _ in LINK.findall(read(name)):
                if "://" not in target and \
                        not os.path.exists(os.path.normpath(os.path.join(DOCS, target))):
                    bad.append("docs/%s links to %s" % (name, target))
        self.assertEqual(bad, [], "links to nothing")

    def test_every_page_ends_with_questions(self):
        bad = [name for name in tour_pages() if not ends_with_questions(read(name))]
        self.assertEqual(bad, [], "pages that do not end with a '## Questions' list")


if __name__ == "__main__":
    unittest.main()
