#!/usr/bin/env bash
# QEMU suite cost per configuration: wall time of the whole suite divided by the wall time of
# booting the same image to --list (firmware boot, image load, console, exit: everything but
# the scenarios). One configuration at a time, each timed BENCH_QEMU_REPS times (default 2),
# the fastest kept, because other work on the machine only ever adds time.
# Prints "qemu suite/boot <config> <ratio> (...)"; the goal is <= 1.3. The CPU-time ratio
# beside it (user + system of the run) is what a busy machine disturbs least.
# BENCH_QEMU_CONFIGS="a b" limits the configurations. Results go to build/bench/qemu, not
# build/results.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
cd "$top"
reps=${BENCH_QEMU_REPS:-2}
configs=(${BENCH_QEMU_CONFIGS:-})
if [ ${#configs[@]} -eq 0 ]; then
  for f in tests/qemu/configs/*.conf; do configs+=("$(basename "$f" .conf)"); done
fi
bash scripts/deps.sh >/dev/null
make --no-print-directory -s ARCH=x86_64 image >/dev/null
make --no-print-directory -s ARCH=aarch64 image >/dev/null
out="$build/bench/qemu"
mkdir -p "$out"
export QEMU_WORK_DIR="$out/work" QEMU_RESULTS_DIR="$out/results"

TIMEFORMAT='%R %U %S'
fastest() {  # config, image args... -> "wall cpu": the least wall and CPU seconds over $reps runs
  local best_wall= best_cpu= wall cpu r
  for ((r = 0; r < reps; r++)); do
    { time bash tests/qemu/run.sh "$@"; } 2>"$out/time"
    read -r wall cpu < <(awk 'END { print $1, $2 + $3 }' "$out/time")
    best_wall=$(awk -v a="$wall" -v b="${best_wall:-$wall}" 'BEGIN { print (a < b ? a : b) }')
    best_cpu=$(awk -v a="$cpu" -v b="${best_cpu:-$cpu}" 'BEGIN { print (a < b ? a : b) }')
  done
  echo "$best_wall $best_cpu"
}

for c in "${configs[@]}"; do
  read -r boot boot_cpu < <(fastest "$c" --list)
  read -r suite suite_cpu < <(fastest "$c")
  if ! grep -qE '^1\.\.[0-9]+$' "$QEMU_RESULTS_DIR/$c.tap"; then
    echo "qemu suite/boot $c: the suite did not finish (see $QEMU_RESULTS_DIR/$c.log)"
    continue
  fi
  awk -v c="$c" -v s="$suite" -v b="$boot" -v sc="$suite_cpu" -v bc="$boot_cpu" 'BEGIN {
    printf "qemu suite/boot %s %.2f (suite %.1f s, boot %.1f s; CPU time %.2f: %.1f s / %.1f s)\n",
           c, s / b, s, b, sc / bc, sc, bc }'
done
