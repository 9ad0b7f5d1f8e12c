#!/bin/sh
# disasm.sh RT_BENCH GOBENCH: the fast path, side by side. morestack's
# recursive function enters with the plain frame-pointer prologue: no
# check, the guard page does the checking. Go's starts by comparing SP
# with the goroutine's stack bound (CMPQ SP, 0x10(R14)) and branches to
# runtime.morestack when it is low: a check on every call.
rt=$1
go=$2
echo "== fast path: morestack's recurse (bench/rt_bench.c), first instructions"
objdump -d --no-show-raw-insn "$rt" | awk '/<recurse>:/{p=1} p{print; if (++n == 12) exit}'
if [ -x "$go" ] && command -v go >/dev/null; then
	echo "== Go's descend (bench/baselines/go/recursion.go), first instructions"
	GOENV=off GOCACHE=$(dirname "$go")/gocache go tool objdump -s 'main\.descend$' "$go" | head -12
fi
