#!/usr/bin/env bash
# Builds newlib 3.3.0 from Debian's newlib-source for one firmware arch into build/newlib/<arch>.
# Result: <out>/lib/libc.a, libm.a and <out>/include. Cached: rerun only when the stamp is missing.
set -euo pipefail
arch=$1
out=$2
src_tar=/usr/src/newlib/newlib-3.3.0.tar.xz
[ -f "$out/.stamp" ] && exit 0
[ -f "$src_tar" ] || { echo "build-newlib: $src_tar missing (package newlib-source)" >&2; exit 1; }

case "$arch" in
  x86_64)  target=x86_64-elf;  cc=gcc
           cflags="-ffreestanding -fpic -mno-red-zone -fshort-wchar" ;;
  aarch64) target=aarch64-elf; cc=aarch64-linux-gnu-gcc
           cflags="-ffreestanding -fpic -fshort-wchar -mstrict-align" ;;
  *) echo "build-newlib: unknown arch $arch" >&2; exit 1 ;;
esac
# UEFI leaves FP/SIMD usable during boot services on both x64 and AArch64, so newlib's
# floating-point printf is fine. -mstrict-align: MMIO and early memory may be Device memory.
gcc_inc=$($cc -print-file-name=include)
work="$out.work"
rm -rf "$work" "$out"; mkdir -p "$work"
echo "build-newlib: building newlib 3.3.0 for $target (about a minute)"
mkdir -p "$work/src"
tar -C "$work/src" --strip-components=1 -xf "$src_tar"
mkdir -p "$work/build"
cd "$work/build"
../src/configure --target=$target --prefix="$out" \
  --disable-multilib --disable-newlib-supplied-syscalls --disable-libgloss \
  --enable-newlib-nano-malloc=no --disable-newlib-fvwrite-in-streamio \
  CC_FOR_TARGET="$cc $cflags -nostdinc -isystem $gcc_inc" \
  AR_FOR_TARGET="${cc%gcc}ar" RANLIB_FOR_TARGET="${cc%gcc}ranlib" \
  CFLAGS_FOR_TARGET="-O2 -g" >config.log.out 2>&1
make -j"$(nproc)" all-target-newlib >build.log 2>&1 || { tail -30 build.log >&2; exit 1; }
make install-target-newlib >install.log 2>&1 || { tail -30 install.log >&2; exit 1; }
mkdir -p "$out/lib" "$out/include"
cp "$out/$target/lib/libc.a" "$out/$target/lib/libm.a" "$out/lib/"
cp -r "$out/$target/include/." "$out/include/"
cd / && rm -rf "$work"
touch "$out/.stamp"
