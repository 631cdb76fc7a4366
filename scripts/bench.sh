#!/usr/bin/env bash
# make bench: builds every bench/bench_*.c against the core sources it names in its first
# line ("// bench-sources: a.c b.c") with -O2 and runs it, then runs every bench/bench_*.sh
# (the QEMU suite/boot ratios). Benchmarks print their own rates; nothing here asserts on time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build/bench
shopt -s nullglob
benches=(bench/bench_*.c)
scripts=(bench/bench_*.sh)
[ $((${#benches[@]} + ${#scripts[@]})) -gt 0 ] || { echo "bench: no benchmarks"; exit 0; }
for b in "${benches[@]}"; do
  name=$(basename "$b" .c)
  srcs=$(sed -n '1s|^// bench-sources:||p' "$b")
  # "@core": the whole core (what the firmware links), optimised like a release build.
  extra=
  if [ "$(echo $srcs)" = "@core" ]; then
    srcs=$(make --no-print-directory -s print-core-srcs)
    extra=-Wno-format-truncation # evidence text may be cut at -O2's estimate; no bench reads it
  fi
  # shellcheck disable=SC2086
  gcc -std=c11 -D_DEFAULT_SOURCE -O2 -g -Wall -Wextra -Werror $extra -I. "$b" $srcs -o "build/bench/$name"
  echo "== $name"
  "build/bench/$name"
done
for b in "${scripts[@]}"; do
  echo "== $(basename "$b" .sh)"
  bash "$b"
done
