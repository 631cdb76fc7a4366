#!/usr/bin/env bash
# Judges one configuration's run against tests/qemu/expect/NAME.expect.
# Expectation lines: "<scenario-id> <tag> pass", "<scenario-id> <tag> skip <reason text>" or
# "<scenario-id> <tag> xfail <text>": a documented emulator deviation, the check must fail
# with evidence containing the text (counted as skipped, never as passed; an xfail that
# passes is reported, so a fixed emulator is noticed). Every TAP check must match an
# expectation line with the same verdict; every expectation line must be met.
# Also judged: the run ended by itself with the plan line, the exit status agrees with the
# TAP verdicts, and the JUnit XML was written to the ESP.
# Prints one line per problem and a last line "NAME: P passed, F failed, S skipped";
# exit status 0 when nothing failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
name=$1
tap="$build/results/$name.tap"
exp="$top/tests/qemu/expect/$name.expect"
work="$build/qemu/$name"
. "$top/tests/qemu/configs/$name.conf"
passed=0 failed=0 skipped=0
problem() { echo "[$name] FAIL $*"; failed=$((failed + 1)); }

# shellcheck source=tests/judge_expect.sh
. "$top/tests/judge_expect.sh"
judge_expectations "$tap" "$exp"

# The run itself: ended with a plan, exit status agrees, JUnit on the ESP.
rc=$(cat "$work/qemu-exit" 2>/dev/null || echo missing)
if ! grep -qE '^1\.\.[0-9]+$' "$tap" 2>/dev/null; then
  problem "run: no TAP plan line (crash, hang or timeout; QEMU exit $rc; see build/results/$name.log)"
else
  case "$ARCH:$rc" in
    x86_64:1|aarch64:0) expect_fail=0 ;;   # isa-debug-exit (0<<1)|1, semihosting 0
    x86_64:3|aarch64:1) expect_fail=1 ;;
    *) expect_fail=unknown ;;
  esac
  if [ "$expect_fail" = unknown ]; then
    problem "run: unexpected QEMU exit status $rc"
  elif [ "$expect_fail" != "$([ $n_tap_failed -gt 0 ] && echo 1 || echo 0)" ]; then
    # (a run with only documented deviations still fails its exit status: that is correct)
    problem "run: exit status $rc disagrees with $n_tap_failed failed TAP checks"
  else
    passed=$((passed + 1))
  fi
fi
if [ "$(cat "$work/xml-from" 2>/dev/null)" != esp ]; then
  problem "junit: results XML was not written to the ESP"
elif ! grep -q "<testsuite name=\"bareiommu\" tests=\"$n_tap\"" "$build/results/$name.xml"; then
  problem "junit: XML on the ESP does not list the $n_tap TAP checks"
else
  passed=$((passed + 1))
fi
# The verdict for a person (make run shows it last): the run against its expectations.
# The QEMU that ran: the command line's first word, after "env VAR=value..." if present.
read -r -a qemu_words < "$work/qemu-cmdline" 2>/dev/null || qemu_words=()
qemu_env=()
i=0
[ "${qemu_words[0]:-}" = env ] && i=1
while [[ ${qemu_words[$i]:-} == *=* ]]; do qemu_env+=("${qemu_words[$i]}"); i=$((i + 1)); done
qemu_ver=$(env "${qemu_env[@]}" "${qemu_words[$i]:-false}" --version 2>/dev/null |
           sed -n 's/^QEMU emulator version \([0-9]*\.[0-9]*\).*/\1/p')
if [ $failed -eq 0 ]; then
  broken=
  [ $n_expected_fail -gt 0 ] && broken=" $n_expected_fail expected failure(s) of this deliberately broken platform,"
  echo "$name: matches its expectations (tests/qemu/expect/$name.expect): $n_tap_passed passed,$broken" \
       "$n_known known QEMU ${qemu_ver:-?} deviation(s)${known_list:+ ($known_list)}, $n_tap_skipped expected skip(s)"
else
  echo "$name: does NOT match its expectations (tests/qemu/expect/$name.expect): $failed problem(s) listed above"
fi
echo "$name: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
