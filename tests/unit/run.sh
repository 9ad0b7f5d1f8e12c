#!/bin/sh
# run.sh COUNTS BINARY...: runs each cmocka unit-test binary, even after a
# failure, and writes "PASSED FAILED" (test cases, summed) to COUNTS.
#
# Each binary reports in TAP (CMOCKA_MESSAGE_OUTPUT=TAP): a plan "1..N",
# then "ok K - name" or "not ok K - name" per test. A binary that is missing
# (did not build), dies (a sanitizer report, a signal) or hangs has its
# unreported tests counted as failures, and at least one.
# Prints every failing test's name with cmocka's message.

counts=$1
shift
passed=0
failed=0
log=$(dirname "$counts")/unit-logs
mkdir -p "$log"

for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: did not build (see the compiler's errors above)"
		failed=$((failed + 1))
		continue
	fi
	CMOCKA_MESSAGE_OUTPUT=TAP timeout 120 "$bin" >"$log/$name.out" 2>"$log/$name.err"
	rc=$?
	# "P F": passed, and failed including tests the plan promised but never reported.
	read -r p f <<-COUNTS
	$(awk '
		/^1\.\.[0-9]+/ { plan = substr($0, 4) + 0 }
		/^ok /         { ok++ }
		/^not ok /     { bad++ }
		END {
			missing = plan - ok - bad
			if (missing < 0) missing = 0
			print ok + 0, bad + missing
		}' "$log/$name.out")
	COUNTS
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # died after reporting every test, or before the plan
	fi
	if [ "$f" -ne 0 ]; then
		echo "FAIL $name: $p passed, $f failed (exit status $rc)"
		# Each failing test, with the lines cmocka printed about it.
		awk '/^not ok / { show = 1; print "  " $0; next }
		     /^(ok |1\.\.)/ { show = 0 }
		     show && /^#/ && !/^# not ok - / { print "    " $0 }' "$log/$name.out"
		if [ "$rc" -eq 124 ]; then
			echo "  $name hung: killed after 120 s"
		elif [ "$rc" -ne 0 ] && [ -s "$log/$name.err" ]; then
			echo "  $name died; the end of its stderr ($log/$name.err):"
			tail -n 25 "$log/$name.err" | sed 's/^/    /'
		fi
	else
		echo "ok   $name: $p passed"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "$passed $failed" >"$counts"
echo "unit tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
