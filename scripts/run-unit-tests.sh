#!/usr/bin/env bash
# Runs host unit test programs (cmocka) and sums their results.
# Last line: "unit: N passed, N failed, N skipped".
set -uo pipefail
p=0 f=0 s=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  echo "$out" | grep -E 'matched the reference model|^\[  (FAILED|ERROR|SKIPPED) |^\[  PASSED  \]|^\[==========\] tests:|ERROR|runtime error|Sanitizer' | sed "s|^|$(basename "$t"): |"
  np=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  nf=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  ns=$(echo "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  if [ $rc -ne 0 ] && [ "$nf" -eq 0 ]; then
    echo "$(basename "$t"): exited $rc (crash or sanitizer finding)"; echo "$out" | tail -20
    nf=1
  fi
  p=$((p + np)) f=$((f + nf)) s=$((s + ns))
done
echo "unit: $p passed, $f failed, $s skipped"
[ $f -eq 0 ]
