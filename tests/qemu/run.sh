#!/usr/bin/env bash
# Boots one configuration (tests/qemu/configs/NAME.conf) under timeout and leaves
#   build/results/NAME.log  console (raw)
#   build/results/NAME.tap  TAP lines lifted from it
#   build/results/NAME.xml  JUnit XML read back from the ESP (or lifted from the console)
# --interactive (make run): console to the terminal too, without the JUnit echo (the XML is in
# the results file), then the verdict against tests/qemu/expect/NAME.expect as the last line;
# the exit status is that verdict. Extra args after NAME become the image's command line
# (bareiommu.cfg), e.g. run.sh vtd-legacy 'discover.*' -v
# QEMU_RESULTS_DIR / QEMU_WORK_DIR put the results and the scratch files elsewhere (make bench).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
interactive=0
[ "${1:-}" = --interactive ] && { interactive=1; shift; }
name=${1:?usage: run.sh [--interactive] CONFIG [image args...]}
shift
conf="$top/tests/qemu/configs/$name.conf"
[ -f "$conf" ] || { echo "run.sh: no configuration $conf" >&2; exit 2; }
# shellcheck source=/dev/null
IMAGE_ARGS= ACPI_TABLES= QEMU_GEN=7
. "$conf"
timeout_s=${QEMU_TIMEOUT:-300}
work="${QEMU_WORK_DIR:-$build/qemu}/$name"
results="${QEMU_RESULTS_DIR:-$build/results}"
mkdir -p "$work" "$results"

case "$ARCH" in
  x86_64)
    image="$build/x86_64/BOOTX64.EFI" efi_name=BOOTX64.EFI
    code=/usr/share/OVMF/OVMF_CODE_4M.fd vars=/usr/share/OVMF/OVMF_VARS_4M.fd
    # -vga none: with -display none a VGA console only costs time (OVMF renders and scrolls
    # every line of text into its framebuffer); the serial console is the output.
    qemu=(qemu-system-x86_64 -vga none -device isa-debug-exit,iobase=0xf4,iosize=0x04
          -drive "if=none,id=esp,format=raw,file=$work/esp.img" -device ide-hd,drive=esp,bus=ide.0) ;;
  aarch64)
    image="$build/aarch64/BOOTAA64.EFI" efi_name=BOOTAA64.EFI
    code=/usr/share/AAVMF/AAVMF_CODE.fd vars=/usr/share/AAVMF/AAVMF_VARS.fd
    qemu=(qemu-system-aarch64 -semihosting-config enable=on,target=native
          -drive "if=none,id=esp,format=raw,file=$work/esp.img" -device virtio-blk-pci,drive=esp) ;;
  *) echo "run.sh: bad ARCH in $conf" >&2; exit 2 ;;
esac
[ -f "$image" ] || { echo "run.sh: $image not built (make ARCH=$ARCH)" >&2; exit 2; }

# QEMU generation (QEMU_GEN in the configuration): 7 is the system's QEMU 7.2; 10 is the
# QEMU 10.0 that scripts/deps.sh unpacks into build/deps/qemu10, run with its own data files
# and an empty module folder so it never loads the system 7.2's modules.
case "${QEMU_GEN:-7}" in
  7) qemu_env=() ;;
  10)
    q10="$build/deps/qemu10"
    [ -f "$q10/.complete" ] || { echo "run.sh: $q10 missing (bash scripts/deps.sh)" >&2; exit 2; }
    qemu[0]="$q10/usr/bin/${qemu[0]}"
    qemu+=(-L "$q10/usr/share/qemu")
    qemu_env=(env "QEMU_MODULE_DIR=$q10/modules") ;;
  *) echo "run.sh: bad QEMU_GEN=${QEMU_GEN} in $conf" >&2; exit 2 ;;
esac
# Instruction-count clock (QEMU_ICOUNT; "" turns it off): virtual time advances 2^7 ns per
# guest instruction, and with sleep=off it jumps to the next timer deadline whenever the
# guest idles, so waiting on a device timer (edu's 100 ms per DMA) or on firmware that idles
# costs no wall time. The firmware's timeouts are unchanged; they count virtual time.
QEMU_ICOUNT=${QEMU_ICOUNT-shift=7,sleep=off}
[ -n "$QEMU_ICOUNT" ] && qemu+=(-icount "$QEMU_ICOUNT")

# ESP: FAT image with the loader path firmware boots from removable media, plus the options.
rm -f "$work/esp.img"
mkfs.vfat -C "$work/esp.img" 32768 >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$image" "::/EFI/BOOT/$efi_name"
# shellcheck disable=SC2086
printf '%s\n' "--exit=qemu" ${IMAGE_ARGS:-} "$@" > "$work/bareiommu.cfg"
mcopy -i "$work/esp.img" "$work/bareiommu.cfg" ::/EFI/BOOT/bareiommu.cfg
cp "$vars" "$work/vars.fd"
# Broken platform firmware on purpose: tables from tests/qemu/acpi/malformed.sh, added by QEMU.
acpi_args=()
for t in ${ACPI_TABLES:-}; do
  bash "$top/tests/qemu/acpi/malformed.sh" "$t" "$work/$t.bin"
  acpi_args+=(-acpitable "file=$work/$t.bin")
done
# NVMe scratch namespace (NVME_SCRATCH_MB in the conf): varied, known bytes the controller
# reads and compares; nothing writes it. The conf's QEMU_DEVICES attaches it with
# -device nvme,drive=nvme-scratch,serial=...
if [ -n "${NVME_SCRATCH_MB:-}" ]; then
  seq 1 $((NVME_SCRATCH_MB << 18)) > "$work/nvme-scratch.img"
  truncate -s "${NVME_SCRATCH_MB}M" "$work/nvme-scratch.img"
  qemu+=(-drive "if=none,id=nvme-scratch,format=raw,file=$work/nvme-scratch.img")
fi

# shellcheck disable=SC2206
cmd=("${qemu[@]}" $QEMU_MACHINE
     -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code"
     -drive "if=pflash,format=raw,unit=1,file=$work/vars.fd"
     $QEMU_DEVICES "${acpi_args[@]}" -net none -display none -monitor none -serial stdio -no-reboot)
cmd=(${qemu_env[@]+"${qemu_env[@]}"} "${cmd[@]}")
echo "${cmd[*]}" > "$work/qemu-cmdline"
log="$results/$name.log"
set +e
if [ $interactive = 1 ]; then
  timeout --foreground "$timeout_s" "${cmd[@]}" </dev/null | tee "$log" |
    sed -u '/# JUNIT-BEGIN/,/# JUNIT-END/d'
  rc=${PIPESTATUS[0]}
else
  timeout "$timeout_s" "${cmd[@]}" </dev/null >"$log" 2>&1
  rc=$?
fi
set -e

# Console -> TAP: drop CRs and terminal escape sequences the firmware console adds.
sed -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$log" |
  grep -E '^(TAP version|ok |not ok |1\.\.|# )' > "$work/console.tap" || true
sed '/^# JUNIT-BEGIN$/,/^# JUNIT-END$/d' "$work/console.tap" > "$results/$name.tap"
rm -f "$results/$name.xml"
if mcopy -n -i "$work/esp.img" ::/EFI/BOOT/bareiommu-results.xml "$results/$name.xml" 2>/dev/null; then
  xml_from=esp
else
  sed -n '/^# JUNIT-BEGIN$/,/^# JUNIT-END$/p' "$work/console.tap" | sed -e '1d;$d' -e 's/^# //' \
    > "$results/$name.xml"
  xml_from=console
fi
echo "$rc" > "$work/qemu-exit"
echo "$xml_from" > "$work/xml-from"
case "$rc" in
  124) echo "run.sh: $name: QEMU timed out after ${timeout_s}s" >&2 ;;
esac
if [ $interactive = 1 ]; then
  echo "results: build/results/$name.{log,tap,xml} (console, TAP, JUnit XML from the ESP)"
  set +e
  verdict=$(bash "$top/tests/qemu/compare.sh" "$name")
  vrc=$?
  printf '%s\n' "$verdict" | sed '$d' # the last line is the matrix's count line
  exit $vrc
fi
exit 0
