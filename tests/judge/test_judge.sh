#!/usr/bin/env bash
# Tests of tests/judge_expect.sh (the expectation judge of the QEMU and model matrices) on
# crafted TAP: an xfail is accepted only when the failed sub-conditions are exactly the ones
# it names; oracle values on pass lines are compared. Last line: "judge: N passed, N failed,
# 0 skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/judge_expect.sh
. "$top/tests/judge_expect.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tp=0 tf=0
problems=() passed=0 skipped=0
problem() { problems+=("$*"); }

# case NAME WANT TAP-LINES EXPECT-LINES: WANT is "ok P S" (no problem, P passed, S skipped)
# or "problem TEXT" (exactly one problem, containing TEXT).
case_() {
  local name=$1 want=$2
  printf '%s\n' "$3" >"$work/t.tap"
  printf '%s\n' "$4" >"$work/t.expect"
  problems=() passed=0 skipped=0
  judge_expectations "$work/t.tap" "$work/t.expect"
  local got
  if [ ${#problems[@]} -eq 0 ]; then got="ok $passed $skipped"; else got="problem ${problems[*]}"; fi
  if [[ $want == ok* ]] && [ "$got" = "$want" ]; then
    tp=$((tp + 1))
  elif [[ $want == problem* ]] && [ ${#problems[@]} -eq 1 ] && [[ $got == *"${want#problem }"* ]]; then
    tp=$((tp + 1))
  else
    tf=$((tf + 1))
    echo "judge: FAIL $name: wanted '$want', got '$got'"
  fi
}

iqa='not ok 1 - state.restore [vtd] IOMMU_EBADREG: IQA reads 0x1000, entry value 0x0 {ok: disable GSTS RTADDR IQT FECTL FSTS; failed: IQA}'
case_ "xfail: exactly the named sub-condition failed" "ok 0 1" "$iqa" "state.restore vtd xfail IQA"
case_ "xfail: another register failed too" "problem the expectation documents only 'IQA'" \
  'not ok 1 - state.restore [vtd] IOMMU_EBADREG: IQA reads 0x1000, entry value 0x0; FECTL reads 0x1, entry value 0x0 {ok: disable GSTS RTADDR IQT FSTS; failed: IQA FECTL}' \
  "state.restore vtd xfail IQA"
case_ "xfail: a disable step failed besides IQA" "problem failed sub-conditions 'IQA disable'" \
  'not ok 1 - state.restore [vtd] IOMMU_ETIMEDOUT: IQA reads 0x1000, entry value 0x0 {ok: GSTS RTADDR IQT FECTL FSTS; failed: disable IQA}' \
  "state.restore vtd xfail IQA"
case_ "xfail: a different sub-condition failed" "problem failed sub-conditions 'records-within-slots'" \
  'not ok 1 - fault.overflow [smmuv3] 9 faults {ok: overflow-flag flag-cleared new-fault mapped-dma; failed: records-within-slots}' \
  "fault.overflow smmuv3 xfail overflow-flag"
case_ "xfail: overflow plus lost translation" "problem the expectation documents only 'overflow-flag'" \
  'not ok 1 - fault.overflow [smmuv3] 9 faults {ok: records-within-slots flag-cleared new-fault; failed: overflow-flag mapped-dma}' \
  "fault.overflow smmuv3 xfail overflow-flag"
case_ "xfail: queue did not recover" "problem failed sub-conditions 'error-reported next-completed resumed'" \
  'not ok 1 - queue.error [amd] no event {failed: error-reported resumed next-completed}' \
  "queue.error amd xfail error-reported"
case_ "xfail: queue recovered, only the report missing" "ok 0 1" \
  'not ok 1 - queue.error [amd] no event {ok: resumed next-completed; failed: error-reported}' \
  "queue.error amd xfail error-reported"
case_ "xfail: two names in any order" "ok 0 1" \
  'not ok 1 - fault.overflow [smmuv3] x {ok: new-fault; failed: overflow-flag flag-cleared}' \
  "fault.overflow smmuv3 xfail flag-cleared overflow-flag"
case_ "xfail written as free text" "problem the xfail names NO error nvme reported transfer, which this check does not report" \
  'not ok 1 - dma.unmap.stale [vtd] x {ok: first-landed write-blocked; failed: write-device-error}' \
  "dma.unmap.stale vtd xfail nvme reported NO transfer error"
case_ "xfail: failure without a sub-condition block" "problem without a sub-condition block" \
  'not ok 1 - state.restore [vtd] attach failed: IOMMU_ENOMEM' "state.restore vtd xfail IQA"
case_ "xfail: block cut off by truncation" "problem without a sub-condition block" \
  'not ok 1 - state.restore [vtd] IQA reads 0x1000, entry value 0x0 {ok: disable GSTS RTA' \
  "state.restore vtd xfail IQA"
case_ "xfail: the block must end the evidence" "problem without a sub-condition block" \
  'not ok 1 - state.restore [vtd] {failed: IQA} and then something else failed' \
  "state.restore vtd xfail IQA"
case_ "xfail that passes is reported" "problem expected the documented deviation" \
  'ok 1 - state.restore [vtd] every register back' "state.restore vtd xfail IQA"
case_ "xfail that skips is reported" "problem expected the documented deviation" \
  'ok 1 - state.restore [vtd] # SKIP GSTS.TES=1' "state.restore vtd xfail IQA"
case_ "xfail naming free text is malformed" "problem xfail must name the deviating sub-condition" \
  "" "state.restore vtd xfail IQA reads,"
case_ "pass oracle matches" "ok 1 0" \
  'ok 1 - ioasid.capacity [core] capacity 2: amd PASID width 1' "ioasid.capacity core pass capacity 2:"
case_ "pass oracle differs" "problem lacks the expected 'capacity 2:'" \
  'ok 1 - ioasid.capacity [core] capacity 0: amd no PASID' "ioasid.capacity core pass capacity 2:"
case_ "ioasid.capacity needs an oracle" "problem needs the expected value" \
  'ok 1 - ioasid.capacity [core] capacity 0: x' "ioasid.capacity core pass"
case_ "plain pass" "ok 1 0" 'ok 1 - dma.map.read [vtd] data equals A' "dma.map.read vtd pass"
case_ "unexpected failure" "problem expected pass" 'not ok 1 - dma.map.read [vtd] x {failed: a}' \
  "dma.map.read vtd pass"
case_ "skip with the wrong reason" "problem expected reason 'ECAP.PASID=0'" \
  'ok 1 - aux.attach [vtd] # SKIP ECAP.SMTS=0' "aux.attach vtd skip ECAP.PASID=0"
case_ "check never reported" "problem never reported it" "" "dma.map.read vtd pass"
case_ "check without expectation" "problem no expectation for this check" \
  'ok 1 - dma.map.read [vtd] x' ""

case_ "expected failure on a broken platform" "ok 1 0" \
  'not ok 1 - discover.acpi [vtd] DMAR at 0x1000 (120 bytes) is present but malformed: ACPI_ETRUNCATED' \
  "discover.acpi vtd fail present but malformed: ACPI_ETRUNCATED"
case_ "expected failure, other error" "problem failed as expected but for" \
  'not ok 1 - discover.acpi [vtd] DMAR at 0x1000 (120 bytes) is present but malformed: ACPI_EBADLEN' \
  "discover.acpi vtd fail present but malformed: ACPI_ETRUNCATED"
case_ "expected failure that passes" "problem expected fail" \
  'ok 1 - discover.acpi [none] DMAR DRHD 0: base 0xfed90000' "discover.acpi none fail malformed"
case_ "broken platform read as no IOMMU" "problem expected fail" \
  'ok 1 - discover.acpi [vtd] # SKIP ACPI describes no IOMMU' \
  "discover.acpi vtd fail present but malformed: ACPI_ETRUNCATED"
case_ "fail needs its text" "problem fail needs the text" "" "discover.acpi vtd fail"

echo "judge: $tp passed, $tf failed, 0 skipped"
[ $tf -eq 0 ]
