"""The demos: what they print matches Go, and what they draw is the live
stack: real addresses inside the task's stack, pointers equal to the
addresses they point at, changes marked. 80 columns at most."""
import re

from harness import expect, expect_equal, expect_in, expect_not_in, expect_re, kernel_symbol

MACHINE = dict(machine="q35", memory="512M")


def expect_80_columns(out):
    """Every line of a demo's output fits an 80-column terminal."""
    for line in out.splitlines():
        expect(len(line) <= 80, "line over 80 columns: %r" % line)


def rows(drawing):
    """{label: (address, value, changed)} of one drawing."""
    out = {}
    for addr, value, what, star in re.findall(
            r"^  (0x[0-9a-f]{16}) \| (0x[0-9a-f]{16}) \| (.{32}) \|( \*)?$", drawing, re.M):
        label = what.split(" -> ")[0].strip()
        out[label] = (int(addr, 16), int(value, 16), bool(star))
    return out


def task_stack(out):
    """The (lo, hi) of the task's stack a demo printed ("the task's stack: [lo, hi)")."""
    return tuple(int(x, 16) for x in expect_re(
        r"the task's stack: \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", out).groups())


def drawings(out):
    """The drawings of a demo's output, in order: (title, table). A title is
    the line just before a table's "address value what" header."""
    parts = re.split(r"\n  ([^\n]+)\n(?=  address +value +what\n)", out)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


STEP = re.compile(r"^  step +(\d+)  (\S+) +(.*)\n"
                  r"    RIP ([0-9a-f]{16})([* ]) RSP ([0-9a-f]{16})([* ])(?:\(([-+]\d+)\))? *"
                  r"RBP ([0-9a-f]{16})([* ]) *\n"
                  r"((?:    .*\n)*?)(?=  step|  returned to)", re.M)
WORD = re.compile(r"^      ([0-9a-f]{16}): ([0-9a-f]{16})([* ]) (.*?)( <-RSP)?( <-RBP)?$", re.M)


def traces(out):
    """callret's traces: [(title, called state, [steps], summary)], each step a
    dict: where, text, rip, rsp, rbp, rsp_delta, words {addr: (value, changed, what)}."""
    result = []
    for block in re.split(r"\n(?=  called   )", out)[1:]:
        called = re.match(r"  called   (\w+)\n    RIP ([0-9a-f]{16})  RSP ([0-9a-f]{16}) +"
                          r"RBP ([0-9a-f]{16})", block)
        expect(called, "a trace starts with the called function's state: %r" % block[:200])
        steps = []
        for m in STEP.finditer(block):
            words = {int(a, 16): (int(v, 16), star == "*", what.strip())
                     for a, v, star, what, _, _ in WORD.findall(m.group(11))}
            steps.append(dict(n=int(m.group(1)), where=m.group(2), text=m.group(3).strip(),
                              rip=int(m.group(4), 16), rsp=int(m.group(6), 16),
                              delta=int(m.group(8)) if m.group(8) else 0, rbp=int(m.group(9), 16),
                              words=words))
        summary = re.search(r"  returned to (\S+): (\d+) instructions ran", block)
        expect(summary, "a trace ends back in its driver")
        result.append((called.group(1), tuple(int(called.group(i), 16) for i in (2, 3, 4)), steps,
                       int(summary.group(2))))
    return result


def test_callret_steps_call_and_ret_one_instruction_at_a_time(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("callret", timeout=120)
    expect_80_columns(out)
    expect_in("func B(c, d int) { println(c, d); return }", out)
    expect_re(r"B\(a, b\) +Go prints: 1 2 +here: 1 2 +matches Go", out)
    expect_re(r"A2's println +Go prints: 1 1 +here: 1 1 +matches Go", out)
    lo, hi = task_stack(out)
    ts = traces(out)
    expect_equal(["callret_pushes", "callret_A", "callret_A2"], [t[0] for t in ts], "the traces")
    total = 0
    for name, (rip0, rsp0, rbp0), steps, ran in ts:
        expect_equal(ran, len(steps), "%s: steps drawn and instructions counted" % name)
        expect_equal(list(range(1, ran + 1)), [s["n"] for s in steps], "%s: step numbers" % name)
        expect_equal(kernel_symbol(name), rip0, "%s: the first stop is its first instruction" % name)
        total += ran
        prev = dict(rip=rip0, rsp=rsp0, rbp=rbp0, words={})
        for s in steps:
            what = "%s step %d (%s)" % (name, s["n"], s["text"])
            fn, off = s["where"].split("+")
            expect_equal(kernel_symbol(fn) + int(off, 16), prev["rip"],
                         "%s: the instruction drawn is the one at the previous RIP" % what)
            expect_equal(s["rsp"] - prev["rsp"], s["delta"], "%s: the RSP change printed" % what)
            for addr in s["words"]:
                expect(lo <= addr < hi and addr >= s["rsp"],
                       "%s: cell %#x outside [RSP, stack top)" % (what, addr))
            text = s["text"]
            if text.startswith("call "):
                callee = text.split()[1]
                expect_equal(prev["rsp"] - 8, s["rsp"], "%s: call pushes one word" % what)
                expect_equal(kernel_symbol(callee), s["rip"], "%s: call jumps to %s" % (what, callee))
                ret_to, changed, label = s["words"][s["rsp"]]
                nxt = steps[steps.index(s) + 1]
                expect(changed, "%s: the pushed return address is marked changed" % what)
                expect(label.startswith("ret to %s+0x" % fn), "%s: labelled %r" % (what, label))
                # The return address is the instruction after the call.
                expect_equal(kernel_symbol(fn) + int(off, 16) + 5, ret_to,
                             "%s: the word pushed is the next instruction's address" % what)
            elif text == "push %rbp":
                expect_equal(prev["rsp"] - 8, s["rsp"], "%s: push moves RSP down a word" % what)
                expect_equal(prev["rbp"], s["words"][s["rsp"]][0], "%s: pushes the caller's RBP" % what)
            elif text == "mov %rsp,%rbp":
                expect_equal(s["rsp"], s["rbp"], "%s: RBP is the frame's base" % what)
                expect(s["words"][s["rbp"]][2].startswith("saved RBP"),
                       "%s: RBP points at the saved RBP" % what)
            elif text == "leave":
                expect_equal(prev["rbp"] + 8, s["rsp"], "%s: leave: RSP = RBP + 8" % what)
                expect_equal(prev["words"][prev["rbp"]][0], s["rbp"],
                             "%s: leave pops the saved RBP" % what)
            elif text == "ret":
                expect_equal(prev["rsp"] + 8, s["rsp"], "%s: ret pops one word" % what)
                expect_equal(prev["words"][prev["rsp"]][0], s["rip"],
                             "%s: ret jumps to the word it popped" % what)
            elif text.startswith("push $"):
                expect_equal(prev["rsp"] - 8, s["rsp"], "%s: push moves RSP down a word" % what)
                expect_equal(int(text.split("$")[1], 16), s["words"][s["rsp"]][0],
                             "%s: the value pushed" % what)
            prev = s
        expect_equal(rsp0 + 8, steps[-1]["rsp"], "%s: the stack is as it was, less the return" % name)
        expect_equal(rbp0, steps[-1]["rbp"], "%s: RBP is the caller's again" % name)
    counts = expect_re(r"instructions by function: callret_A (\d+), callret_B (\d+)", out).groups()
    expect_equal(int(counts[0]) + int(counts[1]), ts[1][3], "A's and B's counts add up")
    expect_re(r"callret: 2 of 2 match Go; %d instructions stepped" % total, out)
    expect_in("callret: usage: callret [push|ab|results]", m.cmd("callret everything"))
    expect_re(r"callret: 1 of 1 match Go; \d+ instructions stepped", m.cmd("callret ab"))


def test_layout_shows_arguments_laid_out_like_struct_fields(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("layout")
    expect_80_columns(out)
    expect_in("layout: 2 of 2 as expected", out)
    expect_re(r"f2's results +Go prints: 1 2 3 4 here: 1 2 3 4 matches Go", out)
    lo, hi = task_stack(out)
    # f1: the struct's fields at their offsets, in the argument and the result.
    rows_ = re.findall(r"^    ([abcd]) +(\d+) +(\d+) +(\d+) +(0x[0-9a-f]{16}) +(0x[0-9a-f]{16})$", out,
                       re.M)
    fields = {f: (int(o), int(a, 16), int(r, 16)) for f, o, _, _, a, r in rows_}
    expect_equal({"a": 0, "b": 8, "c": 16, "d": 20}, {f: v[0] for f, v in fields.items()},
                 "offsetof each field")
    expect_equal({"a": (1, 7), "b": (8, 0), "c": (4, 0), "d": (2, 2)},
                 {f: (int(z), int(p)) for f, _, z, p, _, _ in rows_}, "each field's size and padding")
    for f, (off, a, r) in fields.items():
        expect_equal(fields["a"][1] + off, a, "&a.%s = &a.a + offsetof" % f)
        expect_equal(fields["a"][2] + off, r, "&r.%s = &r.a + offsetof" % f)
        expect(lo <= a < hi and lo <= r < hi, "a.%s and r.%s inside the task's stack" % (f, f))
    ret = int(expect_re(r"f1's return address is at (0x[0-9a-f]+); a is above it", out).group(1), 16)
    expect_equal(ret + 8, fields["a"][1], "the struct argument is the first thing above the return")
    # f2: every argument and result in the stack; the results at their offsets.
    res = {n: (int(a, 16), int(o)) for n, a, o in re.findall(
        r"^    (r[abcd]) +(0x[0-9a-f]{16}) +(\d+)$", out, re.M)}
    for n, (a, o) in res.items():
        expect_equal(res["ra"][0] + o, a, "&%s = &ra + its offset" % n)
    for n, a in re.findall(r"^    (a[abcd]) +(0x[0-9a-f]{16}) +r[sd][ix]$", out, re.M):
        expect(lo <= int(a, 16) < hi, "%s inside the stack" % n)
    # f3: the four arguments past the registers, a slot of 8 bytes each.
    ret = int(expect_re(r"f3\(c1, .*\n.*\n    return address at (0x[0-9a-f]+)", out).group(1), 16)
    slots = re.findall(r"^    c(\d+) +slot (0x[0-9a-f]{16})  return address \+ +(\d+)  holds "
                       r"(0x[0-9a-f]{16})$", out, re.M)
    expect_equal(["7", "8", "9", "10"], [c for c, _, _, _ in slots], "the stack arguments")
    for c, addr, plus, held in slots:
        expect_equal(ret + int(plus), int(addr, 16), "c%s's slot address" % c)
        expect_equal(8 * (int(c) - 6), int(plus), "c%s's slot: 8 bytes each" % c)
        expect_equal(int(c), int(held, 16) & 0xff, "c%s's slot holds its value" % c)
    expect_in("four 1-byte arguments on the stack take 32 bytes", out)


def test_stackpool_shows_the_cache_taking_and_giving_stacks(m):
    out = m.cmd("stackpool")
    expect_80_columns(out)
    caches = [tuple(int(x) for x in c) for c in re.findall(
        r"cached: 4 KiB (\d+), 8 KiB (\d+), 16 KiB (\d+), 32 KiB (\d+)", out)]
    expect_equal([(0, 0, 0, 0), (1, 0, 0, 0), (1, 0, 0, 0), (0, 0, 0, 1), (0, 0, 0, 1)], caches,
                 "the cache at the start and after each task")
    tasks = re.findall(r"  task (\w) uses (\d+) KiB: started on \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)\n"
                       r"    stacks taken from the cache: (\d+), mapped fresh: (\d+); grew (\d+) times?\n"
                       r"(?:.*\n.*\n)?    at its exit its (\d+) KiB stack (was cleared and went to the "
                       r"cache|was unmapped)", out)
    expect_equal(["A", "B", "C", "D"], [t[0] for t in tasks], "the tasks")
    got = {t[0]: (int(t[2], 16), int(t[4]), int(t[5]), int(t[6]), int(t[7]), t[8]) for t in tasks}
    expect_equal((0, 1, 0, 4), got["A"][1:5], "A: a fresh stack, no growth, 4 KiB at its exit")
    expect_equal(got["A"][0], got["B"][0], "B gets A's stack back from the cache")
    expect_equal((1, 0, 0, 4), got["B"][1:5], "B: one stack from the cache")
    expect_equal(got["A"][0], got["C"][0], "C starts on the same cached stack")
    expect_equal((1, 0, 3, 32), got["C"][1:5], "C: 4 -> 32 KiB, three growths")
    expect_equal((0, 1, 5, 128), got["D"][1:5], "D: a fresh stack (the 4 KiB class is empty), five growths")
    expect(got["D"][5] == "was unmapped", "D's 128 KiB stack is not cached")
    expect_in("B was given A's stack", out)
    expect_in("stack reuse is off again", out)
    expect_in("stackreuse: off", m.cmd("stackreuse"))


def test_conventions_shows_where_each_argument_and_result_travels(m):
    out = m.cmd("conventions")
    expect_80_columns(out)
    expect_in("conventions: 3 of 3 match Go", out)
    lo, hi = task_stack(out)
    gp, save, over = expect_re(r"gp_offset (\d+) \(the next register slot\),\n"
                               r" +reg_save_area (0x[0-9a-f]+), overflow_arg_area (0x[0-9a-f]+)",
                               out).groups()
    save, over = int(save, 16), int(over, 16)
    expect_equal("8", gp, "n took the first register (rdi)")
    ret = int(expect_re(r"sum's return address is at (0x[0-9a-f]+)", out).group(1), 16)
    expect_equal(ret + 8, over, "the overflow area starts right above the return address")
    xs = re.findall(r"^    xs\[(\d)\] = +(\d+)  read at (0x[0-9a-f]{16})  \((\w+)\)$", out, re.M)
    expect_equal([str(i) for i in range(10)], [x[0] for x in xs], "ten variadic arguments")
    for i, v, at, src in xs:
        i, at = int(i), int(at, 16)
        expect_equal(i + 1, int(v), "xs[%d]'s value" % i)
        expect(lo <= at < hi, "xs[%d] read inside the task's stack" % i)
        if i < 5:
            expect_equal(["rsi", "rdx", "rcx", "r8", "r9"][i], src, "xs[%d]'s register" % i)
            expect_equal(save + 8 * (i + 1), at, "xs[%d] in the register save area" % i)
        else:
            expect_equal("stack", src, "xs[%d] from the stack" % i)
            expect_equal(over + 8 * (i - 5), at, "xs[%d]: pushed right to left, 8 bytes each" % i)
    expect_in("after call conv_two(1, 2): rax = 2, rdx = 1", out)
    r10, env = expect_re(r"put (0x[0-9a-f]+) in r10;\n +the closure's environment is (0x[0-9a-f]+)",
                         out).groups()
    expect_equal(env, r10, "the trampoline hands the environment over in r10")


def test_heapstack_measures_the_six_differences(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("heapstack")
    expect_80_columns(out)
    expect_in("heapstack: ok", out)
    lo, hi = task_stack(out)
    # 1. the heap object counted while it lives; the next frame takes the last one's place.
    obj, after, before = expect_re(r"rt_alloc\(64\) = (0x[0-9a-f]+): the heap holds (\d+) objects? "
                                   r"\((\d+) before\)", out).groups()
    expect_equal(int(before) + 1, int(after), "one more object while it lives")
    expect(not lo <= int(obj, 16) < hi, "the heap object is not in the stack")
    first, second = expect_re(r"a local of one call: (0x[0-9a-f]+)\n +the same local of the next "
                              r"call: (0x[0-9a-f]+)", out).groups()
    expect_equal(first, second, "the next call's frame took the last one's place")
    expect_re(r"rt_free: the heap holds %s objects? again" % before, out)
    lost = expect_re(r"leak_one\(\) allocated and lost its object at (0x[0-9a-f]+): the heap\n"
                     r" +still holds (\d+) objects?, one more than its caller can name", out).groups()
    expect_equal(int(after) + 1, int(lost[1]), "the lost object is still counted")
    # 3. frames go down, inside the stack.
    frames = [int(x, 16) for x in re.findall(r"0x[0-9a-f]+", expect_re(
        r"successive frames: (0x[0-9a-f]+ 0x[0-9a-f]+\n +0x[0-9a-f]+ 0x[0-9a-f]+)", out).group(1))]
    expect(all(lo <= f < hi for f in frames), "the frames are in the task's stack")
    expect(frames == sorted(frames, reverse=True) and len(set(frames)) == 4, "frames go down")
    heap = [int(x, 16) for x in re.findall(r"0x[0-9a-f]+", expect_re(
        r"successive rt_alloc\(64\): (0x[0-9a-f]+ 0x[0-9a-f]+\n +0x[0-9a-f]+ 0x[0-9a-f]+)", out).group(1))]
    said = expect_re(r"the heap put them (going up|going down|in no order)", out).group(1)
    truth = ("going up" if heap == sorted(heap) else "going down" if heap == sorted(heap, reverse=True)
             else "in no order")
    expect_equal(truth, said, "what the demo says of the heap's order")
    # 5. both costs measured; 6. the live frame.
    expect_re(r"a call with a 64-byte local: \d+\.\d ns\n +rt_alloc\(64\) and rt_free: +\d+\.\d ns", out)
    r = rows(drawings(out)[0][1])
    fp = r["the caller's saved RBP"][0]
    expect_equal(fp + 8, r["the return address"][0], "the return address is above the saved RBP")
    expect_equal((3, 4, 7), (r["param1 (arrived in rdi)"][1], r["param2 (arrived in rsi)"][1],
                             r["a local: sum"][1]), "parameters and local")
    expect(all(lo <= a < hi for a, _, _ in r.values()), "every cell inside the task's stack")


def test_swap_matches_go_and_draws_the_live_frames(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("swap")
    expect_in("swap(a, b);    println(a, b)   // 1 2", out)           # the Go source first
    expect_re(r"swap\(a, b\) +Go prints: 1 2 +here: 1 2 +matches Go", out)
    expect_re(r"swapp\(&a, &b\) +Go prints: 2 1 +here: 2 1 +matches Go", out)
    expect_re(r"swapp, moved +Go prints: 2 1 +here: 2 1 +matches Go", out)
    expect_in("swap: 3 of 3 match Go", out)
    expect_80_columns(out)
    lo, hi = (int(x, 16) for x in expect_re(
        r"stack: \[(0x[0-9a-f]+), (0x[0-9a-f]+)\) 4 KiB \(at the start\)", out).groups())
    d = drawings(out)
    expect_equal(6, len(d), "number of drawings")
    # swap: its copies change, main's a and b do not; all cells in the stack.
    before, after = rows(d[0][1]), rows(d[1][1])
    for r in (before, after):
        for label, (addr, _, _) in r.items():
            expect(lo <= addr < hi, "%s at %#x outside the stack [%#x, %#x)" % (label, addr, lo, hi))
    expect_equal((1, 2), (before["main: a"][1], before["main: b"][1]), "main's a, b before swap")
    expect_equal((2, 1), (after["swap: a (a copy of main's a)"][1],
                          after["swap: b (a copy of main's b)"][1]), "swap's copies after")
    expect(after["swap: a (a copy of main's a)"][2] and not after["main: a"][2],
           "only swap's copies are marked changed")
    expect(before["swap: a (a copy of main's a)"][0] < before["main: a"][0],
           "the callee's frame is below the caller's")
    # swapp: its copies are the addresses of main's a and b; main's a, b change.
    before, after = rows(d[2][1]), rows(d[3][1])
    expect_equal(before["main: a"][0], before["swapp: a (copy of &a)"][1], "&a in swapp")
    expect_equal(before["main: b"][0], before["swapp: b (copy of &b)"][1], "&b in swapp")
    expect_equal((2, 1), (after["main: a"][1], after["main: b"][1]), "main's a, b after swapp")
    expect(after["main: a"][2] and after["main: b"][2], "main's a and b are marked changed")
    # the moved run: old and new ranges; the copies adjusted to the new addresses.
    old_a, new_a = (int(x, 16) for x in expect_re(
        r"swapp's copy of &a was (0x[0-9a-f]+), now (0x[0-9a-f]+)", out).groups())
    olo, ohi, nlo, nhi = (int(x, 16) for x in expect_re(
        r"moved the stack \(\d+ moves\):\n    from \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)\n"
        r"      to \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", out).groups())
    expect(olo <= old_a < ohi and nlo <= new_a < nhi, "&a moved from the old stack to the new")
    last = rows(d[5][1])
    expect_equal(new_a, last["main: a"][0], "main's a is where swapp's adjusted pointer says")
    expect_equal((2, 1), (last["main: a"][1], last["main: b"][1]), "main's a, b after the moved swapp")
    expect_in("commands:", m.cmd("help"))



def test_incr_shows_the_result_slot_and_matches_go(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("incr")
    expect_in("func incrn(a int) (b int) {   // named result", out)
    for name, go in [("incr", "0 1"), ("incrn", "0 2"), ("deferArg", "1"), ("deferClosure", "5"),
                     ("LIFO", "2 1 0")]:
        expect_re(r"^  %s +Go prints: %s +here: %s +matches Go$" % (name, go, go), out)
    expect_in("incr: 5 of 5 match Go", out)
    expect_80_columns(out)
    tramp = kernel_symbol("rt_defer_trampoline")
    incr_part, incrn_part = out.split("\nincrn:\n")[0].split("\nincr:\n")[1], out.split("\nincrn:\n")[1]
    for name, part, result_label, received in [
            ("incr", incr_part, "incr: b (a local)", 1),
            ("incrn", incrn_part, "incrn: b (the named result)", 2)]:
        d = drawings(part)
        expect_equal(2, len(d), "drawings of %s" % name)
        at_return, in_defer = rows(d[0][1]), rows(d[1][1])
        expect_equal(1, at_return[result_label][1], "%s: b at return" % name)
        expect_equal(tramp, at_return["%s: return address" % name][1],
                     "%s's return address is defer's trampoline" % name)
        back = in_defer["%s: return address" % name]
        expect(back[1] != tramp and back[2],
               "%s: RT_RETURN put the real return address back (changed) before the deferred call" % name)
        expect_in("%s's `ret` goes straight to main" % name, part)
        expect_equal(at_return["BP of main"][0], at_return["%s: saved rbp" % name][1],
                     "%s's saved rbp points at main's frame" % name)
        expect(at_return[result_label][0] < at_return["main: b"][0], "callee below the caller")
        expect_equal((2, 2), (in_defer["%s: a (the parameter)" % name][1], in_defer[result_label][1]),
                     "%s: a and b after the deferred a++, b++" % name)
        expect(in_defer[result_label][2], "%s: b is marked changed" % name)
        expect_in("3. back in main: b = %s(a) received %d; main's a is still 0" % (name, received), part)
    expect_in("already copied out (in rax)", incr_part)
    expect_in("b is the named result", incrn_part)



def test_frames_lays_out_sum_from_the_live_stack(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("frames")
    expect_in("func sum(a, b int) int { a2 := a * a; b2 := b * b; c := a2 + b2; return c }", out)
    expect_re(r"sum\(1, 2\) +Go prints: 5 +here: 5 +matches Go", out)
    expect_80_columns(out)
    table = {}
    sps = set()
    for off, addr, value, what in re.findall(
            r"^  SP\+(0x[0-9a-f]+|0) +(0x[0-9a-f]{16}) (\S+) +(.+)$", out, re.M):
        addr = int(addr, 16)
        sps.add(addr - int(off, 16))
        table[what.strip()] = (addr, int(value, 0))
    expect_equal(1, len(sps), "every row's address minus its offset is the same SP")
    for what, value in [("c = a2 + b2", 5), ("b2 = b * b", 4), ("a2 = a * a", 1),
                        ("b (arrived in rsi)", 2), ("a (arrived in rdi)", 1)]:
        expect_equal(value, table[what][1], what)
    expect_equal(table["its caller's rbp (by main)"][0], table["main's rbp (saved by sum)"][1],
                 "sum's saved rbp points at main's frame")
    ret = table["return into main"][1]
    start = kernel_symbol("frames_main")
    expect(start < ret < start + 0x100, "the return address %#x is inside frames_main" % ret)
    order = re.findall(r"^  -+ (main's frame|sum's frame|SP of sum)$", out, re.M)
    expect_equal(["main's frame", "sum's frame", "SP of sum"], order, "frame boundaries")
    boundary = out.index("- sum's frame\n")
    expect(out.index("return into main\n") < boundary < out.index("main's rbp (saved by sum)"),
           "sum's frame starts at its saved rbp, the return address is above it")


def test_escape_heap_survives_passed_down_adjusted_global_stale(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("escape")
    expect_re(r"newInt +Go prints: 42 +here: 42 +matches Go", out)
    expect_re(r"RetArg +Go prints: 7 +here: 7 +matches Go", out)
    expect_in("escape: 6 of 6 as expected", out)
    expect_80_columns(out)  # the runtime's report too
    expect_re(r"New +Go prints: 0 +here: 0 +matches Go", out)
    expect_re(r"arg +Go prints: 0 +here: 0 +matches Go", out)
    # New: new(int) is in the task's stack and moves with the frame.
    new = out.split("\n  New:\n")[1].split("\n  dep:\n")[0]
    cell = int(expect_re(r"new\(int\) is at (0x[0-9a-f]+):\n +in task \d+'s stack", new).group(1), 16)
    nb, na = (int(x, 16) for x in expect_re(
        r"p before the move: (0x[0-9a-f]+), after: (0x[0-9a-f]+)", new).groups())
    olo, ohi, nlo, nhi = (int(x, 16) for x in expect_re(
        r"moved from \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)\n +to \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)",
        new).groups())
    expect(nb == cell and olo <= nb < ohi and nlo <= na < nhi and na - nhi == nb - ohi,
           "new(int)'s cell moved with the stack")
    # dep: p adjusted; pp and the old &a both named in the old stack; **pp faults there.
    dep = out.split("\n  dep:\n")[1].split("\n  arg:\n")[0]
    expect_in("p lives in the stack: adjusted, it is &a again: yes", dep)
    before = rows(drawings(dep)[0][1])
    expect_equal(before["dep: p"][0], before["pp (a global)"][1], "pp -> p before the move")
    expect_equal(before["dep: a"][0], before["dep: p"][1], "p -> a before the move")
    olo, ohi = (int(x, 16) for x in expect_re(r"moved from \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", dep).groups())
    flat = re.sub(r"\n {6}(?! )", " ", dep)  # the descriptions, unwrapped
    for label, addr in (("pp (was &p) =", before["dep: p"][0]), ("and *pp was &a =", before["dep: a"][0])):
        expect_re(r"%s %#x:\s+in task \d+'s old stack \[%#x, %#x\), which growth moved"
                  % (re.escape(label), addr, olo, ohi), flat)
    expect_re(r"runtime:   at pc 0x[0-9a-f]+ <dep_task\+0x[0-9a-f]+>\n"
              r"runtime:   address %#x\n" % before["dep: p"][0], dep)
    expect_in("only the dep task died; the shell and other tasks go on", dep)
    # arg: the pointer returned through the opaque routine is adjusted.
    arg = out.split("\n  arg:\n")[1]
    expect_in("(kept in the stack, so adjusted: &b still)", arg)
    kept_before = expect_re(r"retArg\(&b\) before the move: (0x[0-9a-f]+)", arg).group(1)
    olo, ohi = (int(x, 16) for x in expect_re(r"moved from \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", arg).groups())
    expect_re(r"retArg's own copy = %s:\s+in task \d+'s old stack \[%#x, %#x\)" % (kept_before, olo, ohi),
              re.sub(r"\n {6}(?! )", " ", arg))
    new_int, ret_arg, set_new = (out.split("\n  %s:\n" % n)[1] for n in ("newInt", "RetArg", "setNew"))
    set_new = set_new.split("\n  New:\n")[0]
    hb, ha = expect_re(r"p before the move: (0x[0-9a-f]+), after: (0x[0-9a-f]+)", new_int).groups()
    expect(hb == ha and int(hb, 16) < 0xffffc00000000000, "the heap pointer is not a stack address")
    sb, sa = (int(x, 16) for x in expect_re(
        r"p before the move: (0x[0-9a-f]+), after: (0x[0-9a-f]+)", ret_arg).groups())
    olo, ohi, nlo, nhi = (int(x, 16) for x in expect_re(
        r"moved from \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)\n +to \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)",
        ret_arg).groups())
    expect(olo <= sb < ohi and nlo <= sa < nhi and sa - nhi == sb - ohi,
           "RetArg's pointer moved with the stack, to the same place from the top")
    stale = int(expect_re(r"pt is still (0x[0-9a-f]+)", set_new).group(1), 16)
    lo, hi = (int(x, 16) for x in expect_re(
        r"runtime:   is in task \d+'s old stack \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)\n"
        r"runtime:   moved by growth", set_new).groups())
    expect(lo <= stale < hi, "the report names the old stack holding the stale address")
    expect_re(r"runtime:   at pc 0x[0-9a-f]+ <set_new_task\+0x[0-9a-f]+>\n"
              r"runtime:   address %#x\n" % stale, set_new)
    expect_in("only the setNew task died; the shell and other tasks go on", set_new)
    # The pictures: RetArg's p points at a before and after the move (adjusted);
    # the global pt points at a before the move and at nothing drawn after it.
    d = drawings(ret_arg.split("\n  setNew:\n")[0])
    expect_equal(2, len(d), "RetArg's drawings")
    for title, table in d:
        r = rows(table)
        expect_equal(r["main: a"][0], r["main: p = RetArg(&a)"][1], "p -> a (%s)" % title)
    expect(rows(d[0][1])["main: a"][0] != rows(d[1][1])["main: a"][0], "a moved")
    before, after = (rows(t) for _, t in drawings(set_new))
    expect_equal(before["setNew: a"][0], before["pt (a global)"][1], "pt -> a before the move")
    expect_equal(before["pt (a global)"][1], after["pt: points at the old a"][1], "pt unchanged")
    expect(after["setNew: a (moved)"][0] != after["pt: points at the old a"][1],
           "after the move pt no longer points at a")
    expect_in("commands:", m.cmd("help"))


def test_closure_counter_shared_variable_and_the_record(m):
    out = m.cmd("closure")
    expect_re(r"f\(\) f\(\) f\(\) +Go prints: 1 2 3 +here: 1 2 3 +matches Go", out)
    expect_re(r"g\(\) +Go prints: 1 +here: 1 +matches Go", out)
    expect_re(r"inc; inc; get +Go prints: 2 +here: 2 +matches Go", out)
    expect_in("closure: 3 of 3 match Go", out)
    expect_80_columns(out)
    records = re.findall(r"  (f|g) = (0x[0-9a-f]+): a trampoline.*\n    its slot, (0x[0-9a-f]+) .*\n"
                         r"      code = (0x[0-9a-f]+) <counter_next\+0x0>\n      env  = (0x[0-9a-f]+)"
                         r" \(heap\)\n    env: x = (0x[0-9a-f]+): x moved to heap; \*x = (\d+)", out)
    expect_equal(2, len(records), "records of f and g")
    code = kernel_symbol("counter_next")
    for name, tramp, slot, c, env, x, value in records:
        expect_equal(int(tramp, 16) + 4096, int(slot, 16), "%s's slot is a page above" % name)
        expect_equal(code, int(c, 16), "%s's code" % name)
        expect(0xffffe00000000000 <= int(tramp, 16) < 0xffffe00040000000, "trampoline region")
        expect(0xffff800000000000 <= int(x, 16) < 0xffffc00000000000, "x is in the heap")
    expect_equal(("3", "1"), (records[0][6], records[1][6]), "f's and g's own x")
    expect(records[0][5] != records[1][5], "f and g capture different x")
    a, b = expect_re(r"envs (0x[0-9a-f]+) and (0x[0-9a-f]+): one x, shared", out).groups()
    expect_equal(a, b, "inc and get share one environment")


def test_hotsplit_segments_every_call_contiguous_grows_once(m):
    out = m.cmd("hotsplit", timeout=120)
    expect_re(r"segmented stacks: 100000 segment allocations \(and frees\), \d+ us", out)
    expect_re(r"contiguous stacks: 1 stack growth \(4 -> 8 KiB\), \d+ us", out)
    expect_in("hotsplit: both loops computed the same sum", out)
    expect_80_columns(out)
    expect_in("commands:", m.cmd("help"))


def test_demo_all_runs_every_demo_in_order(m):
    expect_in("color: off", m.cmd("color off"))
    out = m.cmd("demo all", timeout=300)
    names = re.findall(r"^==== demo (\d+) of 11: (\w+) ====$", out, re.M)
    expect_equal([("1", "callret"), ("2", "frames"), ("3", "layout"), ("4", "conventions"),
                  ("5", "swap"), ("6", "incr"), ("7", "escape"), ("8", "closure"), ("9", "hotsplit"),
                  ("10", "stackpool"), ("11", "heapstack")], names, "demos in lecture order")
    for done in ["swap: 3 of 3 match Go", "incr: 5 of 5 match Go", "escape: 6 of 6 as expected",
                 "closure: 3 of 3 match Go", "hotsplit: both loops computed the same sum",
                 "callret: 2 of 2 match Go", "layout: 2 of 2 as expected",
                 "stackpool: done", "conventions: 3 of 3 match Go", "heapstack: ok",
                 "demo: all 11 demos ran"]:
        expect_in(done, out)
    expect_not_in("DIFFERS FROM GO", out)
    expect_in("demo: usage: demo all", m.cmd("demo"))


def test_step_mode_waits_for_a_key_at_each_picture(m):
    expect_in("step: on", m.cmd("step on"))
    m.send("swap\r")
    for i in range(6):  # swap draws six pictures
        m.wait_for(r"-- step: press a key \(q: leave step mode\) --\n", 30)
        m.send(" ")
    m.wait_for(r"swap: 3 of 3 match Go\n", 30)
    m.wait_for(re.escape("morestack> "), 30)
    # q leaves step mode: callret, a picture per instruction, runs on to its end.
    m.send("callret ab\r")
    m.wait_for(r"-- step: press a key \(q: leave step mode\) --\n", 30)
    m.send("q")
    m.wait_for(r"step: off \(the demo runs on to its end\)\n", 30)
    rest = m.wait_for(r"callret: 1 of 1 match Go[^\n]*\n", 30)
    expect_not_in("press a key", m.out[m.out.rfind("step: off"):rest.end()])
    m.wait_for(re.escape("morestack> "), 30)
    expect_in("step: off", m.cmd("step"))
    expect_in("commands:", m.cmd("help"))


def figures(m):
    """(heap objects, heap bytes, physical pages free + pooled) as the shell reports them."""
    tasks = m.cmd("tasks")
    objects, live = expect_re(r"heap: (\d+) objects, (\d+) bytes live", tasks).groups()
    pooled = int(expect_re(r"(\d+) physical pages pooled", tasks).group(1))
    free = int(expect_re(r"^physical pages: (\d+) free", m.cmd("mem"), ).group(1))
    return int(objects), int(live), free + pooled


def test_every_demo_fifty_times_leaks_nothing(m):
    expect_in("color: off", m.cmd("color off"))
    for demo, done in [("callret ab", "callret: 1 of 1 match Go"), ("frames", "matches Go"),
                       ("layout", "layout: 2 of 2 as expected"), ("stackpool", "stackpool: done"),
                       ("conventions", "conventions: 3 of 3 match Go"), ("heapstack", "heapstack: ok"), ("escape", "escape: 6 of 6 as expected"),
                       ("hotsplit", "both loops computed the same sum"),
                       ("closure", "closure: 3 of 3 match Go"), ("swap", "swap: 3 of 3 match Go"),
                       ("incr", "incr: 5 of 5 match Go")]:
        expect_in(done, m.cmd(demo, timeout=120))  # warm up: pools and caches fill once
        objects, live, frames = figures(m)
        for _ in range(50):
            expect_in(done, m.cmd(demo, timeout=120))
        objects2, live2, frames2 = figures(m)
        expect_equal((objects, live), (objects2, live2), "heap after 50 runs of %s" % demo)
        # Only the page tables at the frontier of stack addresses (a PT, a PD,
        # a PDPT) may change hands; stacks and their frames all come back.
        expect(abs(frames2 - frames) <= 3,
               "%s: %d physical pages free+pooled before, %d after 50 runs" % (demo, frames, frames2))
