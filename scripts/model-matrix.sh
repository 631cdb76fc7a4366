#!/usr/bin/env bash
# Host model matrix: runs the firmware's flow on the host against every model configuration
# (tests/model/configs/NAME.conf: MODEL=<spec> and IMAGE_ARGS=<options>), or those named, and
# judges each with tests/model/judge.sh against tests/model/expect/NAME.expect.
# Leaves $BUILD_DIR/model-results/NAME.{log,tap,xml,rc}. Needs $BUILD_DIR/host/bareiommu-host
# (make ARCH=host). Last line: "model matrix: N passed, N failed, N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
results=${MODEL_RESULTS_DIR:-$build/model-results}
bin=${MODEL_BIN:-$build/host/bareiommu-host}
cd "$top"
if [ ! -x "$bin" ]; then
  echo "model matrix: $bin not built (make ARCH=host)"
  echo "model matrix: 0 passed, 1 failed, 0 skipped"
  exit 1
fi
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  for f in tests/model/configs/*.conf; do configs+=("$(basename "$f" .conf)"); done
fi
mkdir -p "$results"
echo "model matrix: ${configs[*]}"
p=0 f=0 s=0
for c in "${configs[@]}"; do
  MODEL= IMAGE_ARGS= QEMU_PAIR=
  # shellcheck source=/dev/null
  . "tests/model/configs/$c.conf"
  rm -f "$results/$c".{log,tap,xml,rc}
  # shellcheck disable=SC2086
  timeout "${MODEL_TIMEOUT:-120}" "$bin" --model="$MODEL" --junit="$results/$c.xml" $IMAGE_ARGS \
    >"$results/$c.log" 2>&1
  echo $? >"$results/$c.rc"
  grep -E '^(TAP version|ok |not ok |1\.\.|# )' "$results/$c.log" |
    sed '/^# JUNIT-BEGIN$/,/^# JUNIT-END$/d' >"$results/$c.tap"
  out=$(MODEL_RESULTS_DIR="$results" bash tests/model/judge.sh "$c")
  echo "$out"
  last=$(tail -1 <<<"$out")
  [[ $last =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]] || { f=$((f + 1)); continue; }
  p=$((p + BASH_REMATCH[1])) f=$((f + BASH_REMATCH[2])) s=$((s + BASH_REMATCH[3]))
done
echo "model matrix: $p passed, $f failed, $s skipped"
[ $f -eq 0 ]
