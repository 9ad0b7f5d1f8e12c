#!/usr/bin/env python3
"""Print the benchmark results as plain-text tables, 80 columns wide.

    python3 bench/report.py [build/bench/results.txt]

The file holds lines "BENCH <benchmark> <implementation> <value> <unit>",
appended by the baselines and by the runtime's own benchmarks; any other
line is ignored, and when the same benchmark, implementation and unit
appear more than once the last line wins.

There is one table per benchmark and unit.  Each implementation gets its
value and its ratio to the reference: the implementation named
`morestack` when the table has one, otherwise the first one in the file.
ratio = value / reference value, and every unit here is lower-is-better,
so a ratio above 1 means that implementation took that many times the
reference's time (or memory).

A benchmark named "base/parameter" (growth_ladder/4KiB, growth_ladder/8KiB,
...) goes into one table for "base" with a row per parameter and a column
per implementation.
"""

import re
import signal
import sys

WIDTH = 80
REFERENCE = "morestack"


def parse(lines):
    """Returns {(benchmark, unit): {implementation: value}}, keys of both
    levels in the order of first appearance, and a list of complaints."""
    tables, problems = {}, []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0] != "BENCH":
            continue
        if len(fields) != 5:
            problems.append(f"line {number}: want 'BENCH benchmark "
                            f"implementation value unit', got: {line.strip()}")
            continue
        _, bench, impl, value, unit = fields
        try:
            number_value = float(value)
        except ValueError:
            problems.append(f"line {number}: value {value!r} is not a number")
            continue
        tables.setdefault((bench, unit), {})[impl] = number_value
    return tables, problems


SIZE = re.compile(r"^(\d+)(B|KiB|MiB|GiB)$")
SCALE = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def param_order(params):
    """Sizes (4KiB, 64MiB) in increasing order; anything else as found."""
    sizes = [SIZE.match(p) for p in params]
    if not all(sizes):
        return list(params)
    return sorted(params, key=lambda p: int(SIZE.match(p)[1]) * SCALE[SIZE.match(p)[2]])


def reference_of(impls):
    """The implementation every ratio in a table is taken against."""
    return REFERENCE if REFERENCE in impls else impls[0]


def fmt_value(v):
    """Four significant digits, without exponents for ordinary sizes."""
    if v == 0:
        return "0"
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    if abs(v) >= 1e-3:
        return f"{v:.4g}"
    return f"{v:.3e}"


def fmt_ratio(v, ref):
    if ref == 0:
        return "-"
    r = v / ref
    if r >= 100:
        return f"{r:,.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


def heading(title, unit, ref):
    line = f"== {title} ({unit}), ratio = value / {ref} "
    return line + "=" * max(0, WIDTH - len(line))


def simple_table(bench, unit, values):
    impls = list(values)
    ref = reference_of(impls)
    out = [heading(bench, unit, ref),
           f"  {'implementation':<34}{'value':>20}{'ratio':>14}"]
    for impl in [ref] + [i for i in impls if i != ref]:
        out.append(f"  {impl:<34}{fmt_value(values[impl]):>20}"
                   f"{fmt_ratio(values[impl], values[ref]):>14}")
    return out


def family_table(base, unit, rows):
    """rows: {parameter: {implementation: value}}, for base/parameter."""
    impls = []
    for values in rows.values():
        impls += [i for i in values if i not in impls]
    ref = reference_of(impls)
    impls = [ref] + [i for i in impls if i != ref]
    # value column, and a ratio column for every other implementation
    cols = [(impl, False) for impl in impls[:1]]
    for impl in impls[1:]:
        cols += [(impl, False), (impl, True)]
    param_width = max(len("parameter"), *(len(p) for p in rows)) + 2
    col_width = (WIDTH - 2 - param_width) // max(1, len(cols))
    out = [heading(base, unit, ref)]
    if col_width < 10:
        # Too many implementations side by side: a small table per parameter,
        # each under its parameter's name, one column header for all.
        out.append(f"  {'implementation':<34}{'value':>20}{'ratio':>14}")
        for param in param_order(rows):
            out.append(f"  {base}/{param}:")
            out += ["  " + line for line in simple_table(f"{base}/{param}", unit, rows[param])[2:]]
        return out
    names = "".join(f"{('ratio' if ratio else impl)[:col_width - 1]:>{col_width}}"
                    for impl, ratio in cols)
    out.append(f"  {'parameter':<{param_width}}{names}")
    for param in param_order(rows):
        values = rows[param]
        cells = ""
        for impl, ratio in cols:
            if impl not in values:
                cell = "-"
            elif ratio:
                cell = fmt_ratio(values[impl], values[ref]) if ref in values else "-"
            else:
                cell = fmt_value(values[impl])
            cells += f"{cell:>{col_width}}"
        out.append(f"  {param:<{param_width}}{cells}")
    return out


def report(tables):
    families = {}  # (base, unit) -> {parameter: values}
    order = []     # tables and families in order of first appearance
    for (bench, unit), values in tables.items():
        if "/" in bench:
            base, param = bench.split("/", 1)
            if (base, unit) not in families:
                families[(base, unit)] = {}
                order.append(("family", base, unit))
            families[(base, unit)][param] = values
        else:
            order.append(("simple", bench, unit))
    out = ["ratio = value / reference value; the reference is "
           f"'{REFERENCE}' where present,",
           "else the first implementation listed.  Lower is better for "
           "every unit here.", ""]
    for kind, name, unit in order:
        if kind == "simple":
            out += simple_table(name, unit, tables[(name, unit)])
        else:
            out += family_table(name, unit, families[(name, unit)])
        out.append("")
    return "\n".join(out)


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    path = argv[1] if len(argv) > 1 else "build/bench/results.txt"
    try:
        with open(path) as f:
            tables, problems = parse(f)
    except OSError as e:
        print(f"report.py: cannot read {path}: {e.strerror}; "
              "run `make bench` first", file=sys.stderr)
        return 1
    for p in problems:
        print(f"report.py: {path}: {p}", file=sys.stderr)
    if not tables:
        print(f"report.py: {path} has no BENCH lines", file=sys.stderr)
        return 1
    print(report(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
