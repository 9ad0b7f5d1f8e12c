"""The fuzzer's workload on bare metal (`fuzz N [SEED]`, tests/fuzz/stackfuzz.c):
fresh seeds with the move-stress switch off, then on; replays of a seed; usage."""
import re

from harness import expect, expect_equal, expect_in, expect_re

MACHINE = dict(machine="q35", memory="512M")

SUMMARY = (r"^fuzz: seeds (\d+)\.\.(\d+): (\d+) of (\d+) failed; killed (\d+), corrupted (\d+), "
           r"deadlocked (\d+); (\d+) stack moves, (\d+) values and (\d+) frames checked; "
           r"move-stress (on|off): (\d+) larger, (\d+) same size, (\d+) smaller; (\d+) ms$")
FIELDS = ("first", "last", "failed", "seeds", "killed", "corrupted", "deadlocked", "moves",
          "values", "frames", "stress", "larger", "same", "smaller", "ms")


def fuzz(m, args, timeout=300):
    """Runs `fuzz ARGS`; returns (summary fields, output)."""
    out = m.cmd("fuzz " + args, timeout=timeout)
    s = dict(zip(FIELDS, expect_re(SUMMARY, out).groups()))
    for k in FIELDS:
        if k != "stress":
            s[k] = int(s[k])
    return s, out


def expect_clean(s, out, n, stress):
    fails = re.findall(r"^fuzz: FAIL seed .*$", out, re.M)
    expect(not fails, "failing seeds (replay each with 'fuzz 1 SEED'):\n" + "\n".join(fails))
    expect_equal(n, s["seeds"], "seeds run")
    expect_equal(s["first"] + n - 1, s["last"], "the last seed")
    for k in ("failed", "killed", "corrupted", "deadlocked"):
        expect_equal(0, s[k], "%s (seeds %d..%d, stress %s)" % (k, s["first"], s["last"], stress))
    expect_equal(stress, s["stress"], "the stress state the summary reports")
    expect(s["moves"] > 0 and s["values"] > 0 and s["frames"] > 0, "the workload ran: %s" % s)


def test_fuzz_50_seeds_with_stress_off_then_on(m):
    expect_in("stress: off", m.cmd("stress off"))
    figures = []
    for stress in ("off", "on"):
        if stress == "on":
            expect_in("stress: on", m.cmd("stress on"))
        s, out = fuzz(m, "50")
        seed = int(expect_re(r"^fuzz: seed (\d+) \(from the TSC\)$", out).group(1))
        expect_equal(seed, s["first"], "the first seed is the one printed")
        expect_clean(s, out, 50, stress)
        stress_moves = s["larger"] + s["same"] + s["smaller"]
        if stress == "off":
            expect_equal(0, stress_moves, "stress moves with stress off")
        else:
            for k in ("larger", "same", "smaller"):
                expect(s[k] > 0, "stress moves to %s stacks: %s" % (k, s))
        figures.append("stress %s: seeds %d..%d, %d stack moves (%d by stress: %d larger, %d same, "
                       "%d smaller), %d values, %d frames, %d ms"
                       % (stress, s["first"], s["last"], s["moves"], stress_moves, s["larger"],
                          s["same"], s["smaller"], s["values"], s["frames"], s["ms"]))
    state = m.cmd("stress")
    expect_re(r"stress: \d+ ticks, [1-9]\d* moved a stack", state)
    print("  fuzz: " + "; ".join(figures) + "; " + state.strip().splitlines()[-1], flush=True)
    expect_in("stress: off", m.cmd("stress off"))


def test_a_seed_replays_the_same_work_with_stress_on_or_off(m):
    """The seed decides the workload: the same values and frames are checked
    whatever the stress tick does to the stacks, and a run replays exactly."""
    base = int(expect_re(r"fuzz: seed (\d+)", m.cmd("fuzz 1")).group(1))
    runs = []
    for stress in ("off", "off", "on"):
        m.cmd("stress " + stress)
        s, out = fuzz(m, "4 %d" % base)
        expect_not_from_tsc(out)
        expect_clean(s, out, 4, stress)
        expect_equal(base, s["first"], "the first seed")
        runs.append((s["values"], s["frames"]))
    m.cmd("stress off")
    expect_equal(runs[0], runs[1], "values and frames checked by two runs of the same seeds")
    expect_equal(runs[0], runs[2], "values and frames checked with stress off and on")


def expect_not_from_tsc(out):
    expect("from the TSC" not in out, "a given SEED is used, not one from the TSC:\n" + out)


def test_fuzz_usage_errors(m):
    for args in ("", "0", "100001", "x", "5 seed", "5 -1", "5 18446744073709551616", "1 2 3"):
        out = m.cmd(("fuzz " + args).strip())
        expect_re(r"^fuzz: (usage: fuzz N \[SEED\] \(N: 1 to 100000 seeds|'[^']*' is not a seed)",
                  out, "output of 'fuzz %s'" % args)
        expect(not re.search(SUMMARY, out, re.M), "'fuzz %s' ran seeds:\n%s" % (args, out))
    s, out = fuzz(m, "1 18446744073709551615")
    expect_clean(s, out, 1, "off")
    expect_in("commands:", m.cmd("help"))


def test_ordinary_data_never_looks_like_a_stack_address(m):
    """falsepos: every class of everyday data, against this machine's stack addresses
    (after a churn and with a parked 1 MiB stack), and the worst cases built from them."""
    expect_in("churn: ok", m.cmd("churn 50 7", timeout=120))
    parked = m.cmd("spawn 20000 40")
    tid = int(expect_re(r"^task (\d+) parked", parked).group(1))
    out = m.cmd("falsepos 300000", timeout=120)
    classes = re.findall(r"^  (.+?) +(\d+) of 300000( \(0 by construction\))?$", out, re.M)
    expect(len(classes) == 8, "eight classes of words:\n" + out)
    for name, hits, structured in classes:
        if structured:
            expect_equal(0, int(hits), "words of '%s' taken for stack addresses" % name)
    tried, accepted = (int(x) for x in expect_re(
        r"^falsepos: worst cases from live stacks: (\d+) tried, (\d+) accepted$", out).groups())
    expect(tried > 10000, "worst cases tried: %d" % tried)
    expect_equal(0, accepted, "worst cases accepted")
    expect_in("falsepos: ok, no ordinary data looks like a stack address", out)
    expect_in("usage: falsepos [N]", m.cmd("falsepos lots"))
    expect_in("result: ok", m.cmd("resume %d" % tid, timeout=60))
    print("  falsepos: " + "; ".join("%s %s" % (n, h) for n, h, _ in classes) +
          "; %d worst cases, 0 accepted" % tried, flush=True)
