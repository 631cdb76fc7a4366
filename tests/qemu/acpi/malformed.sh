#!/usr/bin/env bash
# Writes a present-but-malformed IOMMU table for a QEMU boot (-acpitable file=OUT): one of
# the tables captured from QEMU (tests/unit/fixtures) with one field broken, checksum fixed.
# The same corruptions are unit-tested in tests/unit/test_{dmar,ivrs,iort}.c and
# test_scenarios_host.c.
#   malformed.sh NAME OUT     NAME: dmar-drhd-overrun | dmar-haw-absurd | ivrs-ivhd-overrun |
#                                   iort-node-zero-length
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
fx="$top/tests/unit/fixtures"
name=${1:?usage: malformed.sh NAME OUT} out=${2:?usage: malformed.sh NAME OUT}
case "$name" in
  # The first DRHD's Length runs 8 bytes past the table (ACPI_ETRUNCATED).
  dmar-drhd-overrun) src=$fx/vtd-legacy/DMAR.bin edit="put16 50 overrun 48" ;;
  # Host Address Width 0xff: 256-bit addresses (ACPI_EBADVALUE).
  dmar-haw-absurd) src=$fx/vtd-legacy/DMAR.bin edit="put8 36 255" ;;
  # The first IVHD block's Length runs 8 bytes past the table (ACPI_ETRUNCATED).
  ivrs-ivhd-overrun) src=$fx/amd/IVRS.bin edit="put16 50 overrun 48" ;;
  # The first node (ITS group at 0x30) has Length 0 (ACPI_EBADLEN).
  iort-node-zero-length) src=$fx/smmuv3/IORT.bin edit="put16 49 0" ;;
  *) echo "malformed.sh: unknown table '$name'" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
perl -e '
  my ($src, $out, $op, $at, $val, $from) = @ARGV;
  open(my $in, "<:raw", $src) or die "$src: $!"; local $/; my $t = <$in>; close $in;
  $val = length($t) - $from + 8 if $val eq "overrun";
  if ($op eq "put8") { substr($t, $at, 1) = pack("C", $val); }
  else { substr($t, $at, 2) = pack("v", $val); }
  substr($t, 9, 1) = "\0";
  my $sum = 0; $sum += $_ for unpack("C*", $t);
  substr($t, 9, 1) = pack("C", (256 - $sum % 256) % 256);
  open(my $o, ">:raw", $out) or die "$out: $!"; print $o $t; close $o;
' "$src" "$out" $edit
