#!/usr/bin/env bash
# Last step of an image: pad the aarch64 raw binary to the 512-byte boundary its hand-written
# PE header declares (AAVMF rejects it otherwise), then check the PE signature.
set -euo pipefail
arch=$1 img=$2
[ "$arch" = aarch64 ] && truncate -s %512 "$img"
[ "$(head -c 2 "$img")" = MZ ] || { echo "finish-image: $img has no MZ header" >&2; exit 1; }
pe_off=$(od -An -tu4 -j 60 -N 4 "$img" | tr -d ' ')
[ "$(dd if="$img" bs=1 skip="$pe_off" count=4 2>/dev/null | od -An -c | tr -d ' ')" = 'PE\0\0' ] ||
  { echo "finish-image: $img has no PE signature at $pe_off" >&2; exit 1; }
size=$(stat -c %s "$img")
[ "$arch" != aarch64 ] || [ $((size % 512)) -eq 0 ] || { echo "finish-image: $img not 512-aligned" >&2; exit 1; }
echo "  IMAGE $img ($size bytes)"
