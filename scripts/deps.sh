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
