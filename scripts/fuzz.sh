#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS (default 30),
# seeded with the ACPI tables captured from QEMU. A crash, sanitizer finding or broken
# invariant fails that target; its reproducer is left in build/fuzz/<target>/.
# Last line: "fuzz: N passed, N failed, 0 skipped" (one check per target).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-30}
out=build/fuzz
mkdir -p "$out"
flags=(-std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -I.)
acpi=(boot/acpi.c boot/acpi_dmar.c boot/acpi_ivrs.c boot/acpi_iort.c)
declare -A src seeds
for sig in DMAR IVRS IORT MCFG; do
  src[acpi_$sig]="tests/fuzz/fuzz_acpi_table.c ${acpi[*]} -DFUZZ_$sig"
  seeds[acpi_$sig]=$sig
done
src[pci]="tests/fuzz/fuzz_pci.c boot/pci.c boot/acpi.c arch/host/arch_host.c arch/poll.c"
[ -f tests/fuzz/fuzz_ioasid.c ] && [ -f ioasid/ioasid.c ] && src[ioasid]="tests/fuzz/fuzz_ioasid.c ioasid/ioasid.c"

run_target() {
  local name=$1 dir="$out/$1"
  mkdir -p "$dir/corpus"
  # shellcheck disable=SC2086
  if ! eval clang "${flags[*]}" ${src[$name]} -o "$dir/fuzzer" 2>"$dir/build.log"; then
    echo "fuzz $name: FAIL (build)"; tail -5 "$dir/build.log"; return 1
  fi
  if [ -n "${seeds[$name]:-}" ]; then
    find tests/unit/fixtures -name "${seeds[$name]}*.bin" -exec cp {} "$dir/corpus/" \;
  fi
  if (cd "$dir" && ./fuzzer -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 corpus >run.log 2>&1); then
    echo "fuzz $name: ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/run.log" | grep -o '[0-9]*$') runs in ${secs}s)"
  else
    echo "fuzz $name: FAIL (see $dir/run.log)"; grep -E 'ERROR|SUMMARY|deadly' "$dir/run.log" | head -5
    return 1
  fi
}
p=0 f=0
names=("${!src[@]}")
results=$(for n in "${names[@]}"; do echo "$n"; done | sort |
  xargs -P "$(nproc)" -I@@ bash -c "$(declare -p flags src seeds out secs); $(declare -f run_target); run_target @@")
echo "$results"
p=$(grep -c ': ok' <<<"$results")
f=$(grep -c ': FAIL' <<<"$results")
echo "fuzz: $p passed, $f failed, 0 skipped"
[ "$f" -eq 0 ]
