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

declare -A want why seen
order=()
if [ ! -f "$exp" ]; then
  problem "no expectation file $exp"
else
  while read -r id tag verdict reason; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    want["$id $tag"]=$verdict
    why["$id $tag"]=$reason
    order+=("$id $tag")
  done < "$exp"
fi

n_tap=0 n_tap_failed=0
if [ -f "$tap" ]; then
  while IFS= read -r line; do
    [[ $line =~ ^(ok|not\ ok)\ [0-9]+\ -\ ([^ ]+)\ \[([^]]+)\]\ ?(.*)$ ]] || continue
    status=${BASH_REMATCH[1]} id=${BASH_REMATCH[2]} tag=${BASH_REMATCH[3]} text=${BASH_REMATCH[4]}
    n_tap=$((n_tap + 1))
    got=pass
    [ "$status" = "not ok" ] && { got=fail; n_tap_failed=$((n_tap_failed + 1)); }
    [[ $text =~ ^\#\ SKIP\ (.*)$ ]] && { got=skip; text=${BASH_REMATCH[1]}; }
    key="$id $tag"
    seen["$key"]=1
    w=${want["$key"]:-}
    if [ "$w" = xfail ] && [ "$got" = fail ] && [[ "$text" == *"${why[$key]}"* ]]; then
      skipped=$((skipped + 1))
      continue
    elif [ "$w" = xfail ]; then
      problem "$key: expected the documented deviation (fail: ${why[$key]}), got $got: $text"
      continue
    fi
    if [ -z "$w" ]; then
      problem "$key: no expectation for this check (got $got: $text)"
    elif [ "$w" != "$got" ]; then
      problem "$key: expected $w${why[$key]:+ (${why[$key]})}, got $got: $text"
    elif [ "$got" = skip ] && [[ "$text" != *"${why[$key]}"* ]]; then
      problem "$key: skipped for '$text', expected reason '${why[$key]}'"
    elif [ "$got" = skip ]; then
      skipped=$((skipped + 1))
    else
      passed=$((passed + 1))
    fi
  done < "$tap"
fi
for key in "${order[@]}"; do
  [ -n "${seen[$key]:-}" ] || problem "$key: expected ${want[$key]} but the run never reported it"
done

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
