#!/usr/bin/env bash
# make check: install what is missing, host unit tests (ASan/UBSan), bounded fuzz runs,
# both firmware images, the QEMU conformance matrix. Last line: "N passed, N failed, N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
jobs=$(nproc)
total_p=0 total_f=0 total_s=0
add_counts() {  # parses "... N passed, N failed, N skipped" from the last line of $1
  if [[ $(tail -1 <<<"$1") =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
    total_p=$((total_p + BASH_REMATCH[1])) total_f=$((total_f + BASH_REMATCH[2]))
    total_s=$((total_s + BASH_REMATCH[3]))
  else
    total_f=$((total_f + 1))
  fi
}
step() {  # name, command...: runs a build step; a failure counts as one failed check
  local name=$1; shift
  if ! "$@" >"build/check-$name.log" 2>&1; then
    echo "check: $name FAILED"; tail -30 "build/check-$name.log"
    total_f=$((total_f + 1))
    return 1
  fi
}
mkdir -p build

echo "== expectation judge on crafted TAP"
out=$(bash tests/judge/test_judge.sh 2>&1); echo "$out"; add_counts "$out"

echo "== host unit tests (ASan + UBSan)"
if step build-host make -j"$jobs" ARCH=host; then
  out=$(make --no-print-directory ARCH=host host-tests 2>&1); echo "$out"; add_counts "$out"
  echo "== host model matrix (functional models, issue 7)"
  out=$(bash scripts/model-matrix.sh 2>&1); echo "$out"; add_counts "$out"
fi

if [ -f scripts/fuzz.sh ]; then
  echo "== fuzzing (bounded)"
  out=$(bash scripts/fuzz.sh "${FUZZ_SECONDS:-10}" 2>&1); echo "$out" | tail -8; add_counts "$out"
fi

echo "== firmware images"
images_ok=1
step build-x86_64 make -j"$jobs" ARCH=x86_64 image || images_ok=0
step build-aarch64 make -j"$jobs" ARCH=aarch64 image || images_ok=0

if [ $images_ok = 1 ]; then
  echo "== QEMU conformance matrix"
  out=$(bash tests/qemu/run-matrix.sh 2>&1); echo "$out"; add_counts "$out"
  echo "== differential check (QEMU 7.2, QEMU 10 and the host model)"
  out=$(bash scripts/differential.sh 2>&1); echo "$out"; add_counts "$out"
fi
echo "results: build/results/<configuration>.{log,tap,xml}"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ $total_f -eq 0 ]
