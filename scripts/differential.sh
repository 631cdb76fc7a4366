#!/usr/bin/env bash
# Differential check: the same scenario on QEMU and on the host model must get the same
# verdict and leave the same fault evidence. A model configuration that models a QEMU one
# says so (QEMU_PAIR=<qemu 7.2 config> in tests/model/configs/NAME.conf); its QEMU 10 twin is
# QEMU10_PAIR=<config>, or else <QEMU_PAIR>-q10 where that configuration exists. For each
# model configuration with a pair (or those named), every two runs present of the three
# (QEMU 7.2 $QEMU_RESULTS/<pair>.tap, QEMU 10 $QEMU_RESULTS/<twin>.tap, model
# $MODEL_RESULTS/NAME.tap) are compared: model with QEMU 7.2, model with QEMU 10, QEMU 7.2
# with QEMU 10. Every check present in both runs of a comparison is compared:
#   verdict    pass / fail / skip
#   faults     for each "fault source S addr A <read|write> reason R (...) [PASID P] [kind]"
#              in the evidence, in order: source, direction, reason code + kind, PASID
#              presence, and the address. Addresses are compared symbolically: every hex
#              number >= 0x1000 in the evidence line is named by its order of first appearance
#              (the first is A1, ...), so "the fault names the IOVA the scenario used" is
#              compared, not physical addresses, which differ between the two platforms.
# A disagreement listed in tests/model/known-differences (comparison, check, aspect, cause) is
# reported as known, with its cause, and not failed; the comparison is named NAME (model vs
# QEMU 7.2), NAME/qemu10 (model vs QEMU 10) or NAME/qemu7-qemu10. Anything else fails.
# Last line: "differential: N passed, N failed, N skipped" (agreements, disagreements, known).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
qemu_dir=${QEMU_RESULTS:-$build/results}
model_dir=${MODEL_RESULTS:-$build/model-results}
known_file=${KNOWN_DIFFERENCES:-$top/tests/model/known-differences}
agreed=0 disagreed=0 known=0

declare -A known_cause known_seen
if [ -f "$known_file" ]; then
  while read -r cfg check tag aspect cause; do
    [[ -z "$cfg" || "$cfg" == \#* ]] && continue
    known_cause["$cfg $check $tag $aspect"]=$cause
  done < "$known_file"
fi

# verdict and evidence of each check: V[key]=pass|fail|skip, E[key]=text
parse_tap() {  # file, array-name prefix
  local file=$1 prefix=$2 line status id tag text got
  while IFS= read -r line; do
    [[ $line =~ ^(ok|not\ ok)\ [0-9]+\ -\ ([^ ]+)\ \[([^]]+)\]\ ?(.*)$ ]] || continue
    status=${BASH_REMATCH[1]} id=${BASH_REMATCH[2]} tag=${BASH_REMATCH[3]} text=${BASH_REMATCH[4]}
    got=pass
    [ "$status" = "not ok" ] && got=fail
    [[ $text =~ ^\#\ SKIP ]] && got=skip
    eval "${prefix}_V[\"\$id \$tag\"]=\$got"
    eval "${prefix}_E[\"\$id \$tag\"]=\$text"
  done < "$file"
}

# Fault tuples of one evidence text, one per line: "src dir reason/kind pasid addr".
faults_of() {
  local text=$1 rest seg n=0 v sym
  declare -A name
  for v in $(grep -oE '0x[0-9a-f]+' <<<"$text"); do
    v=$((v))
    if (( v >= 0x1000 )) && [ -z "${name[$v]:-}" ]; then
      n=$((n + 1))
      name[$v]=A$n
    fi
  done
  rest=$text
  while [[ $rest == *"fault source "* ]]; do
    rest=${rest#*fault source }
    seg=${rest%%fault source *}
    if [[ $seg =~ ^(0x[0-9a-f]+)\ addr\ (0x[0-9a-f]+)\ (read|write)\ reason\ (0x[0-9a-f]+)\  ]]; then
      local src=${BASH_REMATCH[1]} addr=${BASH_REMATCH[2]} dir=${BASH_REMATCH[3]} fr=${BASH_REMATCH[4]}
      local kind=? pasid=no-pasid
      [[ $seg =~ \[([a-z-]+)\] ]] && kind=${BASH_REMATCH[1]}
      [[ $seg =~ \ PASID\ (0x[0-9a-f]+)\ \[ ]] && pasid="PASID=${BASH_REMATCH[1]}"
      sym=${name[$((addr))]:-$addr}
      echo "src=$src dir=$dir reason=$fr/$kind $pasid addr=$sym"
    fi
  done
}

field_list() {  # tuples, aspect -> the aspect's values in order, comma separated
  case $2 in
    pasid) grep -oE "no-pasid|PASID=[^ ]*" <<<"$1" ;;
    *) grep -oE "$2=[^ ]*" <<<"$1" ;;
  esac | tr '\n' ','
}

aspect_of() {  # QEMU tuples, model tuples -> the aspects that differ
  local a out=""
  for a in src dir reason pasid addr; do
    [ "$(field_list "$1" "$a")" != "$(field_list "$2" "$a")" ] && out+="$a "
  done
  echo "$out"
}

report_diff() {  # cfg key aspect detail
  local cfg=$1 key=$2 aspect=$3 detail=$4
  local cause=${known_cause["$cfg $key $aspect"]:-}
  if [ -n "$cause" ]; then
    known_seen["$cfg $key $aspect"]=1
    echo "  known     $key $aspect: $detail"
    echo "            cause: $cause"
    known=$((known + 1))
  else
    echo "  DISAGREE  $key $aspect: $detail"
    disagreed=$((disagreed + 1))
  fi
}

pair_of() {  # model configuration -> the QEMU 7.2 configuration it models, or nothing
  local QEMU_PAIR=
  # shellcheck source=/dev/null
  [ -f "$top/tests/model/configs/$1.conf" ] && . "$top/tests/model/configs/$1.conf"
  echo "$QEMU_PAIR"
}

pair10_of() {  # model configuration -> its QEMU 10 twin, or nothing
  local QEMU_PAIR= QEMU10_PAIR=
  # shellcheck source=/dev/null
  [ -f "$top/tests/model/configs/$1.conf" ] && . "$top/tests/model/configs/$1.conf"
  if [ -z "$QEMU10_PAIR" ] && [ -n "$QEMU_PAIR" ] && [ -f "$top/tests/qemu/configs/$QEMU_PAIR-q10.conf" ]; then
    QEMU10_PAIR=$QEMU_PAIR-q10
  fi
  echo "$QEMU10_PAIR"
}

compare_runs() {  # comparison label, left name, left TAP, right name, right TAP
  local label=$1 ln=$2 lt=$3 rn=$4 rt=$5 key qv mv qf mf ok a k common only_q only_m
  echo "differential $label: $ln $lt vs $rn $rt"
  unset Q_V Q_E M_V M_E
  declare -gA Q_V Q_E M_V M_E
  parse_tap "$lt" Q
  parse_tap "$rt" M
  common=0
  for key in "${!Q_V[@]}"; do
    [ -n "${M_V[$key]:-}" ] || continue
    common=$((common + 1))
  done
  for key in $(printf '%s\n' "${!Q_V[@]}" | tr ' ' '|' | sort); do
    key=${key//|/ }
    [ -n "${M_V[$key]:-}" ] || continue
    qv=${Q_V[$key]} mv=${M_V[$key]}
    ok=1
    if [ "$qv" != "$mv" ]; then
      report_diff "$label" "$key" verdict "$ln $qv, $rn $mv"
      ok=0
    fi
    qf=$(faults_of "${Q_E[$key]}")
    mf=$(faults_of "${M_E[$key]}")
    # A skipped check has no evidence to compare (its verdict was compared above).
    if [ "$qv" != skip ] && [ "$mv" != skip ] && [ "$qf" != "$mf" ]; then
      for a in $(aspect_of "$qf" "$mf"); do
        report_diff "$label" "$key" "$a" "$ln $(field_list "$qf" "$a") $rn $(field_list "$mf" "$a")"
      done
      ok=0
    fi
    if [ $ok = 1 ]; then
      agreed=$((agreed + 1))
      [ -n "$qf" ] && echo "  agree     $key: $qv; $(tr '\n' ';' <<<"$qf")"
    fi
  done
  only_q=$(( ${#Q_V[@]} - common )) only_m=$(( ${#M_V[@]} - common ))
  echo "  $common checks in both runs ($only_q only on $ln, $only_m only on $rn)"
  for k in "${!known_cause[@]}"; do
    [[ $k == "$label "* ]] && [ -z "${known_seen[$k]:-}" ] &&
      echo "  note      listed in $(basename "$known_file") but not seen (QEMU fixed?): ${k#"$label "}"
  done
}

have() {  # results file -> true when present; otherwise counts a disagreement and says which
  [ -f "$1" ] && return 0
  echo "differential: missing $1 (run the QEMU matrix / the model matrix)"
  disagreed=$((disagreed + 1))
  return 1
}

configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
  for f in "$top"/tests/model/configs/*.conf; do
    c=$(basename "$f" .conf)
    [ -n "$(pair_of "$c")$(pair10_of "$c")" ] && configs+=("$c")
  done
fi

for cfg in "${configs[@]}"; do
  q7=$(pair_of "$cfg") q10=$(pair10_of "$cfg")
  if [ -z "$q7$q10" ]; then
    echo "differential $cfg: tests/model/configs/$cfg.conf names no QEMU_PAIR or QEMU10_PAIR"
    disagreed=$((disagreed + 1))
    continue
  fi
  m_tap=$model_dir/$cfg.tap
  have "$m_tap" || continue
  q7_tap= q10_tap=
  [ -n "$q7" ] && have "$qemu_dir/$q7.tap" && q7_tap=$qemu_dir/$q7.tap
  [ -n "$q10" ] && have "$qemu_dir/$q10.tap" && q10_tap=$qemu_dir/$q10.tap
  [ -n "$q7_tap" ] && compare_runs "$cfg" "QEMU" "$q7_tap" "model" "$m_tap"
  [ -n "$q10_tap" ] && compare_runs "$cfg/qemu10" "QEMU10" "$q10_tap" "model" "$m_tap"
  [ -n "$q7_tap" ] && [ -n "$q10_tap" ] && compare_runs "$cfg/qemu7-qemu10" "QEMU7" "$q7_tap" "QEMU10" "$q10_tap"
done
echo "differential: $agreed passed, $disagreed failed, $known skipped"
[ $disagreed -eq 0 ]
