"""Runtime tasks on bare metal: stacks grow by moving on a guard-page
fault, pointers are adjusted, faults kill only their task, nothing leaks."""
import re

from harness import expect, expect_equal, expect_in, expect_re, own_machine

MACHINE = dict(machine="q35", memory="1G")


def test_million_frames_with_pointers_between_them(m):
    out = m.cmd("grow 1000000", timeout=300)
    expect_re(r"task \d+: 1000000 frames deep and back: checksum ok, chain checked (\d+) times, "
              r"every link intact", out)
    grows = int(expect_re(r"stack: (\d+) grows", out).group(1))
    expect(grows >= 14, "only %d grows for 1,000,000 frames" % grows)
    expect_in("result: ok", out)


def test_counts_of_one_are_singular(m):
    out = m.cmd("grow 1")
    expect_re(r"task \d+: 1 frame deep and back: checksum ok, chain checked 1 time, every link intact",
              out)


def test_frames_of_64_kib_grow_the_stack(m):
    # Each frame is 64 KiB bigger than the guard region below the stack:
    # the stack-clash probes fault page by page, and growth keeps up.
    out = m.cmd("grow 100 65536", timeout=120)
    expect_re(r"task \d+: 100 frames deep and back: checksum ok, .* every link intact", out)
    high = int(expect_re(r"high water (\d+) KiB", out).group(1))
    expect(high >= 100 * 64, "high water %d KiB for 100 frames of 64 KiB" % high)
    # Growths of 64 KiB and more move their used pages (page-table entries), not bytes.
    copied, remapped = map(int, expect_re(r"(\d+) bytes copied, (\d+) remapped", out).groups())
    expect(remapped >= 4 << 20, "only %d bytes remapped growing to 6.4 MiB" % remapped)
    expect(copied < 64 << 10, "%d bytes copied: the large growths copied" % copied)
    expect_in("result: ok", out)
    expect_in("grow: usage", m.cmd("grow 10 99999999"))


def test_a_fault_leaves_a_parked_task_intact(m):
    tid = expect_re(r"task (\d+) parked", m.cmd("spawn 3000")).group(1)
    expect_in("was killed; the shell goes on", m.cmd("taskfault null"))
    expect_in("died; the shell goes on", m.cmd("stale"))
    out = m.cmd("resume %s" % tid)
    expect_re(r"task %s: 3000 frames deep and back: checksum ok" % tid, out)


def test_trace_shows_each_move_doubling_from_the_last(m):
    expect_in("trace: stack moves are logged", m.cmd("trace on"))
    out = m.cmd("grow 3000")
    m.cmd("trace off")
    moves = re.findall(r"grew \[(0x[0-9a-f]+), (0x[0-9a-f]+)\) -> \[(0x[0-9a-f]+), (0x[0-9a-f]+)\) "
                       r"\((\d+) -> (\d+) KiB\), (?:copied|remapped) (\d+) bytes", out)
    expect(len(moves) >= 5, "expected at least 5 moves for 3000 frames:\n" + out)
    expect_equal(("4", "8"), moves[0][4:6], "first move sizes (KiB)")
    for prev, cur in zip(moves, moves[1:]):
        expect_equal(prev[2:4], cur[0:2], "a move starts where the previous one put the stack")
    for lo, hi, nlo, nhi, old_kib, new_kib, copied in moves:
        lo, hi, nlo, nhi = (int(x, 16) for x in (lo, hi, nlo, nhi))
        expect_equal(2 * (hi - lo), nhi - nlo, "each move doubles the stack")
        expect(nlo > hi, "the new stack is at fresh, higher addresses")
        expect(0xffffc00000000000 <= lo < 0xffffd00000000000, "stack in the task region")
        expect(0 < int(copied) <= hi - lo, "copied or remapped bytes within the old stack")
    expect_in("every link intact", out)


def test_parked_task_listed_with_its_frames_then_resumed(m):
    out = m.cmd("spawn 5000")
    tid = expect_re(r"task (\d+) parked 5000 frames deep on a (\d+) KiB stack", out).group(1)
    out = m.cmd("tasks")
    row = expect_re(r"^ +%s parked +parked +(\d+) +(\d+) +(\d+) +(\d+) +0 +(\d+) +(\d+)$" % tid, out)
    size, used, high, grows, moved, moving = (int(x) for x in row.groups())
    expect(used <= high <= size, "used %d <= high water %d <= size %d KiB" % (used, high, size))
    expect(grows >= 7 and moved > 0 and moving > 0, "moves recorded: " + row.group(0))
    out = m.cmd("stack %s" % tid)
    lo, hi = (int(x, 16) for x in expect_re(
        r"stack \[(0x[0-9a-f]+), (0x[0-9a-f]+)\), \d+ KiB", out).groups())
    expect_in("rt_park+0x", out)
    copied, remapped = (int(x) for x in expect_re(
        r"moves: \d+ grows, 0 shrinks, (\d+) bytes copied, (\d+) remapped, \d+ pointers adjusted, "
        r"\d+ us moving; high water \d+ bytes", out).groups())
    # Bare metal moves a growing stack's used pages (page-table entries)
    # instead of copying them, from one page up.
    expect(remapped > copied and (copied + remapped) >> 10 == moved,
           "%d bytes copied, %d remapped, %d KiB moved in the list" % (copied, remapped, moved))
    folded = int(expect_re(r"\.\.\. (\d+) more frames of descend\+0x", out).group(1))
    expect(4990 <= folded <= 5000, "%d descend frames folded" % folded)
    for frame in re.findall(r"\(frame at (0x[0-9a-f]+)\)", out):
        expect(lo <= int(frame, 16) < hi, "frame %s outside the stack [%#x, %#x)" % (frame, lo, hi))
    out = m.cmd("resume %s" % tid)
    expect_re(r"task %s: 5000 frames deep and back: checksum ok" % tid, out)
    expect_in("no task %s" % tid, m.cmd("stack %s" % tid))


def test_stale_pointer_in_a_global_faults_with_the_move_named(m):
    out = m.cmd("stale")
    addr = expect_re(r"keeps &local = (0x[0-9a-f]+) in a global", out).group(1)
    expect_re(r"#PF page fault\nruntime:   at pc 0x[0-9a-f]+ <stale_task\+0x[0-9a-f]+>\n"
              r"runtime:   address %s\n" % addr, out)
    lo, hi = (int(x, 16) for x in expect_re(
        r"runtime:   is in task \d+'s old stack \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)\n"
        r"runtime:   moved by growth \(move 1\) to \[0x[0-9a-f]+, 0x[0-9a-f]+\)\n"
        r"runtime:   the task's stack is now \[0x[0-9a-f]+, 0x[0-9a-f]+\)$", out).groups())
    expect(lo <= int(addr, 16) < hi, "the stale address lies in the old stack named")
    expect_in("went stale", out)
    expect_in("died; the shell goes on", out)


def test_faults_in_tasks_kill_only_the_task(m):
    trace = r"\n\ngoroutine \d+ \[running\]:\n(  rt_\w+\+0x[0-9a-f]+\n)*  fault_task\+0x"
    for kind, words in [("null", r"panic: runtime error: invalid memory address or nil pointer "
                                 r"dereference" + trace),
                        ("div0", r"panic: runtime error: integer divide by zero" + trace),
                        ("ud", r"#UD invalid opcode\nruntime:   at pc .*<fault_task\+"),
                        ("gp", r"#GP general protection\nruntime:   at pc .*<fault_task\+")]:
        out = m.cmd("taskfault " + kind)
        expect_re(words, out)
        expect_in("was killed; the shell goes on", out)
    expect_in("taskfault: usage", m.cmd("taskfault"))


def test_stack_limit_kills_with_go_words(m):
    expect_in("stacklimit: 1048576 bytes", m.cmd("stacklimit 1048576"))
    out = m.cmd("grow 1000000", timeout=120)
    expect_in("runtime: goroutine stack exceeds 1048576-byte limit", out)
    expect_re(r"^runtime: sp=0x[0-9a-f]+ stack=\[0x[0-9a-f]+, 0x[0-9a-f]+\]$", out)
    expect_in("fatal error: stack overflow", out)
    expect_in("was killed (stack overflow); the shell goes on", out)
    expect_in("stacklimit: 1000000000 bytes", m.cmd("stacklimit 1000000000"))
    expect_in("not a byte count", m.cmd("stacklimit lots"))


def test_thousand_tasks_churn_without_leaks(m):
    out = m.cmd("churn 1000 7", timeout=300)
    expect_re(r"churn: 1000 tasks, 1000 checksums ok, 0 killed, 0 broken links", out)
    expect_re(r"churn: channel tokens: \d+ sent, \d+ received \(sums equal\)", out)
    expect_re(r"stack memory mapped (\d+) KiB before, \1 KiB after; heap objects (\d+) before, "
              r"\2 after", out)
    tables, spans, other = churn_pages(out)
    expect(tables + spans <= 16, "churn left %d page tables and %d heap pages taken: a leak"
           % (tables, spans))
    expect_in("churn: ok", out)
    # A second churn starts where the first left off: only the page tables
    # at the frontier of stack addresses may change hands, nothing piles up.
    out = m.cmd("churn 1000 8", timeout=300)
    tables, spans, other = churn_pages(out)
    expect(tables + spans <= 3, "a second churn left %d more page tables and %d more heap pages "
           "taken: a leak" % (tables, spans))
    expect_in("churn: ok", out)


def churn_pages(out):
    """churn's page account: stack page tables, heap spans, and pages it cannot
    explain, which must be none (a leak) and never fewer (a page given back twice)."""
    m = expect_re(r"churn: pages taken afterwards: (-?\d+) in stack page tables \((\d+) before, "
                  r"(\d+) after\), (-?\d+) in heap spans, (-?\d+) in cached stacks, (-?\d+) else", out)
    tables, before, after, spans, _, other = (int(g) for g in m.groups())
    expect(tables == after - before, "the page-table figures disagree: %s" % m.group(0))
    expect(0 <= other <= 4, "churn took %d pages it cannot explain: %s" % (other, m.group(0)))
    return tables, spans, other


def test_nothing_left_after_all_tasks(m):
    out = m.cmd("tasks")
    expect_re(r"tasks: \d+ spawned, 0 live; stacks: 0 KiB mapped", out)
    expect_re(r"heap: 0 objects, 0 bytes live", out)
    expect_in("wx: ok", m.cmd("wx"))
    expect_in("commands:", m.cmd("help"))


def small_machine(fn):
    fn = own_machine(fn)
    fn.machine_config = dict(machine="q35", memory="128M")
    return fn


@small_machine
def test_out_of_memory_while_growing_kills_only_the_task(m):
    out = m.cmd("grow 5000000", timeout=300)
    expect_re(r"runtime: task \d+ needs a \d+-byte stack \(has \d+\): out of memory", out)
    expect_in("was killed (out of memory growing its stack); the shell goes on", out)
    out = m.cmd("tasks")
    expect_re(r"tasks: 1 spawned, 0 live; stacks: 0 KiB mapped", out)
    expect_re(r"task \d+: 1000 frames deep and back: checksum ok", m.cmd("grow 1000"))


def test_ten_thousand_closures_and_wx_stays_clean(m):
    out = m.cmd("closures 10000", timeout=120)
    expect_re(r"closures: 10000 counters made, 0 counted wrong; \d+ trampoline page pairs", out)
    f, code, env, x = expect_re(r"counter 0 is trampoline (0x[0-9a-f]+) -> code (0x[0-9a-f]+) "
                                r"<counter_next\+0x0>, environment (0x[0-9a-f]+), x moved to heap at "
                                r"(0x[0-9a-f]+)", out).groups()
    expect(0xffffe00000000000 <= int(f, 16) < 0xffffe00040000000, "trampoline in its region")
    expect(int(code, 16) >= 0xffffffff80000000, "code in the kernel image")
    expect_in("0 pages writable and executable", out)
    expect_in("inc(); inc(); get() = 2", out)
    expect_in("closures: ok", out)
    # The trampoline page is read-only and executable, its data page writable, not executable.
    expect_re(r"=> phys 0x[0-9a-f]+, 4 KiB page, read-only, executable", m.cmd("pt %s" % f))
    expect_re(r"=> phys 0x[0-9a-f]+, 4 KiB page, read/write, no-execute",
              m.cmd("pt %#x" % (int(f, 16) + 4096)))
    out = m.cmd("closures 10000", timeout=120)
    expect_re(r"trampoline page pairs \(0 new\)", out)   # the pool is reused
    expect_in("closures: ok", out)


def test_defer_programs_match_go(m):
    out = m.cmd("defer")
    for program, go in [("incr", "0 1"), ("incrn", "0 2"), ("deferArg", "1"),
                        ("deferClosure", "5"), ("LIFO", "2 1 0")]:
        expect_re(r"^  %s +Go prints %s +here: %s +matches Go$" % (program, go, go), out)
    expect_in("defer: 5 of 5 match Go; 0 deferred calls left pending; ok", out)


def test_panic_and_recover_like_go(m):
    out = m.cmd("panic")
    expect_in('panic: through 100 frames: 100 deferred calls ran, recovered "deep trouble", '
              'top returned 7', out)
    expect_in('panic: nil dereference recovered: "runtime error: invalid memory address or nil '
              'pointer dereference", returned 5', out)
    expect_re(r"^panic: first\n\tpanic: second\n\ngoroutine \d+ \[running\]:\n", out)
    expect_in('panic: recovered "first", panicked again: the caller recovered "second", '
              'returned 11', out)
    expect_in("panic: the chained panic killed only its task: yes", out)
    expect_in("panic: ok", out)
    expect_in("commands:", m.cmd("help"))


def test_closure_pool_exhaustion_and_reuse(m):
    out = m.cmd("closures 300000", timeout=300)
    expect_in("closures: the pool is full at 262144 closures; after freeing one, the next closure "
              "reuses its trampoline", out)
    expect_in("0 pages writable and executable", out)
    expect_in("closures: ok", out)


def test_a_parked_task_hibernates_and_resumes_intact(m):
    # Parked with little of its stack in use, it gives the stack back when
    # nothing can run, and keeps only an image of what it uses.
    out = m.cmd("spawn 20")
    tid, image = expect_re(r"task (\d+) parked 20 frames deep and hibernated: (\d+) bytes in an "
                           r"image, no stack", out).groups()
    expect(0 < int(image) <= 4096 and int(image) % 256 == 0, "an image of %s bytes" % image)
    out = m.cmd("tasks")
    expect_re(r"^\s*%s parked\s+asleep\s+0\s+0 " % tid, out)
    expect_re(r"hibernation: on; images of parked tasks: %s bytes" % image, out)
    expect_re(r"task %s \(parked\), asleep: no stack; its \d+ bytes in use wait in the image" % tid,
              m.cmd("stack %s" % tid))
    out = m.cmd("resume %s" % tid)
    expect_re(r"task %s: 20 frames deep and back: checksum ok, chain checked \d+ times?, "
              r"every link intact" % tid, out)
    expect_in("result: ok", out)
    expect_in("images of parked tasks: 0 bytes", m.cmd("tasks"))
