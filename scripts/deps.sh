#!/usr/bin/env bash
# Installs the Debian packages bareiommu needs when they are missing, and unpacks the arm64
# GNU-EFI build into build/deps (it cannot be installed beside the amd64 package: same paths).
# Says exactly what it will install before doing so. Idempotent; a no-op when all is present.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deps_dir="$top/build/deps"

packages=(
  make gcc libc6-dev binutils                  # host build and x86_64 firmware
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu  # aarch64 firmware
  gnu-efi newlib-source xz-utils               # UEFI glue, libc sources
  qemu-system-x86 qemu-system-arm ovmf qemu-efi-aarch64  # the emulated platforms
  mtools dosfstools                            # ESP images without root
  libcmocka-dev pkg-config                     # host unit tests
  clang libclang-rt-14-dev                     # libFuzzer + sanitizers
  ca-certificates                              # apt-get download over https mirrors
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null; then sudo "$@";
  else echo "deps: need root to run: $*" >&2; exit 1; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

updated=0
if ((${#missing[@]})); then
  echo "deps: installing missing Debian packages (--no-install-recommends): ${missing[*]}"
  as_root apt-get update -qq
  updated=1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# arm64 GNU-EFI: crt0, link script, libefi/libgnuefi, headers for aarch64.
if [ ! -f "$deps_dir/gnu-efi-aarch64/usr/lib/crt0-efi-aarch64.o" ]; then
  echo "deps: fetching Debian gnu-efi:arm64 and unpacking it into build/deps/gnu-efi-aarch64"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "deps: adding dpkg foreign architecture arm64 (needed for apt-get download gnu-efi:arm64)"
    as_root dpkg --add-architecture arm64
    updated=0
  fi
  [ "$updated" = 1 ] || as_root apt-get update -qq
  mkdir -p "$deps_dir/dl"
  (cd "$deps_dir/dl" && rm -f gnu-efi_*arm64.deb && apt-get download -q gnu-efi:arm64)
  rm -rf "$deps_dir/gnu-efi-aarch64"
  dpkg-deb -x "$deps_dir"/dl/gnu-efi_*_arm64.deb "$deps_dir/gnu-efi-aarch64"
fi

# QEMU 10.0 beside the system's 7.2 (a second emulator generation for the matrix): the
# bookworm-backports packages are fetched with a throwaway apt configuration (its own sources
# list, package lists and cache under build/deps/qemu10-apt; the system's apt state and the
# installed 7.2 are untouched) and unpacked into build/deps/qemu10, once. The binaries run on
# bookworm's libraries, which the 7.2 packages above already pulled in.
qemu10_version='1:10.0.2+ds-2+deb13u1~bpo12+1'
qemu10_dir="$deps_dir/qemu10"
qemu10_packages=(qemu-system-x86 qemu-system-arm qemu-system-data)
fetch_qemu10() {  # every step checked: a failure leaves no half-unpacked tree behind
  local apt_dir="$deps_dir/qemu10-apt" mirror deb
  rm -rf "$apt_dir" "$qemu10_dir"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/dl" || return 1
  # The system's Debian mirror, the backports suite only.
  mirror=$(grep -hoE 'https?://[^ ]*debian/?( |$)' /etc/apt/sources.list \
             /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
           grep -v security | head -1 | tr -d ' ' || true)
  echo "deb ${mirror:-http://deb.debian.org/debian} bookworm-backports main" > "$apt_dir/sources.list"
  local apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
                  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
                  -o APT::Get::List-Cleanup=0)
  apt-get "${apt_opts[@]}" update -qq || return 1
  (cd "$apt_dir/dl" &&
   apt-get "${apt_opts[@]}" download -q "${qemu10_packages[@]/%/=$qemu10_version}") || return 1
  mkdir -p "$qemu10_dir/modules" || return 1  # empty: QEMU_MODULE_DIR, so 7.2's are never tried
  for deb in "$apt_dir"/dl/*.deb; do
    dpkg-deb -x "$deb" "$qemu10_dir" || return 1
  done
  "$qemu10_dir/usr/bin/qemu-system-x86_64" --version | head -1 || return 1
  "$qemu10_dir/usr/bin/qemu-system-aarch64" --version >/dev/null || return 1
  rm -rf "$apt_dir"
  touch "$qemu10_dir/.complete"
}
if [ ! -f "$qemu10_dir/.complete" ]; then
  echo "deps: fetching QEMU $qemu10_version (${qemu10_packages[*]}) from bookworm-backports" \
       "and unpacking it into build/deps/qemu10 (the system's QEMU is not replaced)"
  if ! fetch_qemu10; then
    rm -rf "$qemu10_dir"
    echo "deps: QEMU 10 could not be fetched; the QEMU 10 configurations (*-q10) will fail" >&2
  fi
fi
