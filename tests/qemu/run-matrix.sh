#!/usr/bin/env bash
# Boots every configuration (or those named) in parallel, one QEMU per core, then judges each
# against its expectation file. Last line: "N passed, N failed, N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
cd "$top"
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  for f in tests/qemu/configs/*.conf; do configs+=("$(basename "$f" .conf)"); done
fi
jobs=$(nproc)
echo "qemu matrix: ${configs[*]} ($jobs in parallel)"
printf '%s\n' "${configs[@]}" | xargs -P "$jobs" -I{} bash tests/qemu/run.sh {}
p=0 f=0 s=0
for c in "${configs[@]}"; do
  out=$(bash tests/qemu/compare.sh "$c")
  echo "$out"
  last=$(tail -1 <<<"$out")
  [[ $last =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]] || { f=$((f + 1)); continue; }
  p=$((p + BASH_REMATCH[1])) f=$((f + BASH_REMATCH[2])) s=$((s + BASH_REMATCH[3]))
done
echo "qemu matrix: $p passed, $f failed, $s skipped"
[ $f -eq 0 ]
