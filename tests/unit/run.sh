#!/bin/sh
# run.sh COUNTS BINARY...: runs each cmocka unit-test binary, even after a
# failure, and writes "PASSED FAILED" (test cases, summed) to COUNTS.
#
# Each binary reports in TAP (CMOCKA_MESSAGE_OUTPUT=TAP): a plan "1..N",
# then "ok K - name" or "not ok K - name" per test. A binary that is missing
# (did not build), dies (a sanitizer report, a signal), hangs, fails at exit
# or reports nothing has its unreported tests counted as failures, and at
# least one.
# Prints every failing test's name with cmocka's message.

counts=$1
shift
passed=0
failed=0
log=$(dirname "$counts")/$(basename "$counts" .counts)-logs
mkdir -p "$log"

for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: did not build (see the compiler's errors above)"
		failed=$((failed + 1))
		continue
	fi
	# UBSan's stack trace names the test a report comes from.
	CMOCKA_MESSAGE_OUTPUT=TAP UBSAN_OPTIONS=print_stacktrace=1 \
		timeout 120 "$bin" >"$log/$name.out" 2>"$log/$name.err"
	rc=$?
	# "P F R N": passed; failed, counting the tests the plan promised but
	# that never reported; how many reported; the plan (0 if none came).
	read -r p f reported plan <<-COUNTS
	$(awk '
		/^1\.\.[0-9]+/ { plan = substr($0, 4) + 0 }
		/^ok /         { ok++ }
		/^not ok /     { bad++ }
		END {
			missing = plan - ok - bad
			if (missing < 0) missing = 0
			print ok + 0, bad + missing, ok + bad, plan + 0
		}' "$log/$name.out")
	COUNTS
	if [ "$f" -eq 0 ] && { [ "$rc" -ne 0 ] || [ "$plan" -eq 0 ]; }; then
		f=1 # every test passed yet the binary failed (at exit: a leak?), or none ran
	fi
	if [ "$f" -ne 0 ]; then
		echo "FAIL $name: $p passed, $f failed (exit status $rc)"
		# Each failing test, with the lines cmocka printed about it.
		awk '/^not ok / { show = 1; print "  " $0; next }
		     /^(ok |1\.\.)/ { show = 0 }
		     show && /^#/ && !/^# not ok - / { print "    " $0 }' "$log/$name.out"
		why=
		if [ "$rc" -eq 124 ]; then
			why="hung in test number $((reported + 1)): killed after 120 s"
		elif [ "$plan" -eq 0 ] && [ "$rc" -eq 0 ]; then
			why="ran no tests (no TAP plan)"
		elif [ "$plan" -eq 0 ] || [ "$reported" -lt "$plan" ]; then
			why="died in test number $((reported + 1)); the tests after it did not run"
		elif [ "$p" -eq "$reported" ]; then
			why="passed every test but exited with status $rc"
		fi
		if [ -n "$why" ]; then
			echo "  $name $why. Its stderr ($log/$name.err) begins:"
			head -n 40 "$log/$name.err" | sed 's/^/    /'
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
