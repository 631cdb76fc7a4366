#!/usr/bin/env bash
# Judges one host model run against tests/model/expect/NAME.expect, with the expectation
# rules of tests/qemu/compare.sh (same file format): "<id> <tag> pass", "<id> <tag> skip
# <reason text>", "<id> <tag> xfail <text>" (must fail with the text in its evidence; counted
# as skipped; reported once it passes). Every TAP check must match an expectation with the
# same verdict, every expectation must be met.
# Also judged, in place of QEMU's exit code and ESP checks: the run ended by itself with a
# plan line, its exit status agrees with the TAP verdicts, the JUnit XML it wrote lists every
# check, and no sanitizer report appeared.
# Prints one line per problem and a last line "NAME: P passed, F failed, S skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
results=${MODEL_RESULTS_DIR:-$build/model-results}
name=$1
tap="$results/$name.tap"
exp="$top/tests/model/expect/$name.expect"
passed=0 failed=0 skipped=0
problem() { echo "[model:$name] FAIL $*"; failed=$((failed + 1)); }

# shellcheck source=tests/judge_expect.sh
. "$top/tests/judge_expect.sh"
judge_expectations "$tap" "$exp"

# The run itself.
rc=$(cat "$results/$name.rc" 2>/dev/null || echo missing)
if ! grep -qE '^1\.\.[0-9]+$' "$tap" 2>/dev/null; then
  problem "run: no TAP plan line (crash or timeout; exit $rc; see $results/$name.log)"
elif [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
  problem "run: unexpected exit status $rc (see $results/$name.log)"
elif [ "$rc" != "$([ $n_tap_failed -gt 0 ] && echo 1 || echo 0)" ]; then
  problem "run: exit status $rc disagrees with $n_tap_failed failed TAP checks"
else
  passed=$((passed + 1))
fi
if grep -qE 'Sanitizer|runtime error:' "$results/$name.log" 2>/dev/null; then
  problem "run: sanitizer report in $results/$name.log"
fi
if ! grep -q "<testsuite name=\"bareiommu\" tests=\"$n_tap\"" "$results/$name.xml" 2>/dev/null; then
  problem "junit: $results/$name.xml missing or not listing the $n_tap TAP checks"
else
  passed=$((passed + 1))
fi
echo "model:$name: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
