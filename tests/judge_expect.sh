# Sourced by tests/qemu/compare.sh and tests/model/judge.sh: judges a TAP file against an
# expectation file. Expectation lines:
#   <scenario-id> <tag> pass [<text>]   passes; with text, the evidence must contain it (an
#                                       oracle value, e.g. "capacity 0:" for ioasid.capacity,
#                                       which must have one)
#   <scenario-id> <tag> skip <reason>   skips with the reason text in its skip reason
#   <scenario-id> <tag> fail <text>     the correct answer is a failure (a deliberately broken
#                                       platform: malformed ACPI): fails with the text in its
#                                       evidence; counted as passed
#   <scenario-id> <tag> xfail <name...> a documented deviation: the check fails, its evidence
#                                       ends with the sub-condition block "{ok: ...; failed:
#                                       ...}" (boot/report.h) and the failed names are exactly
#                                       the names given; counted as skipped, never as passed.
#                                       Any other failing sub-condition, or a failure without
#                                       the block, fails the run; so does an xfail that passes.
# Every TAP check must match an expectation line with the same verdict; every expectation line
# must be met.
# Needs: a function problem() that prints and counts a failure, and the counters passed,
# skipped. Sets n_tap and n_tap_failed (TAP checks seen / reported "not ok"), n_tap_passed and
# n_tap_skipped (checks that passed / skipped as expected), n_expected_fail (fail lines met),
# n_known and known_list (the documented deviations met: "state.restore [vtd]: IQA").

# Checks whose pass line must carry the expected value (the oracle) in the expectation file.
JUDGE_NEEDS_ORACLE=" ioasid.capacity "

# Prints the failed sub-condition names of an evidence text, sorted, one space apart; returns
# 1 when the text does not end with a sub-condition block. With "all", prints every name the
# block reports (passed or failed).
failed_subconds() {  # TEXT [all]
  [[ $1 =~ \{(ok:\ ([^\;{}]*))?(\;\ )?(failed:\ ([^\;{}]*))?\}$ ]] || return 1
  [ -n "${BASH_REMATCH[1]}${BASH_REMATCH[4]}" ] || return 1
  if [ "${2:-}" = all ]; then
    sorted_names ${BASH_REMATCH[2]} ${BASH_REMATCH[5]}
  else
    sorted_names ${BASH_REMATCH[5]}
  fi
}
sorted_names() { printf '%s\n' "$@" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

judge_expectations() {  # TAP-FILE EXPECT-FILE
  local tap=$1 exp=$2 line status id tag verdict reason text got key w failed_got failed_want
  declare -A want=() why=() seen=()
  local order=()
  n_tap=0 n_tap_failed=0 n_tap_passed=0 n_tap_skipped=0 n_expected_fail=0 n_known=0 known_list=
  if [ ! -f "$exp" ]; then
    problem "no expectation file $exp"
  else
    while read -r id tag verdict reason; do
      [[ -z "$id" || "$id" == \#* ]] && continue
      case "$verdict" in
        pass|skip|xfail|fail) ;;
        *) problem "$exp: '$id $tag': unknown verdict '$verdict'"; continue ;;
      esac
      if [ "$verdict" = xfail ] && ! [[ $reason =~ ^[A-Za-z0-9._^-]+(\ [A-Za-z0-9._^-]+)*$ ]]; then
        problem "$exp: '$id $tag': xfail must name the deviating sub-condition(s), got '$reason'"
        continue
      fi
      if [ "$verdict" = fail ] && [ -z "$reason" ]; then
        problem "$exp: '$id $tag': fail needs the text the failure must show"
        continue
      fi
      if [ "$verdict" = pass ] && [ -z "$reason" ] && [[ $JUDGE_NEEDS_ORACLE == *" $id "* ]]; then
        problem "$exp: '$id $tag': pass needs the expected value for this configuration"
      fi
      want["$id $tag"]=$verdict
      why["$id $tag"]=$reason
      order+=("$id $tag")
    done < "$exp"
  fi
  if [ -f "$tap" ]; then
    while IFS= read -r line; do
      [[ $line =~ ^(ok|not\ ok)\ [0-9]+\ -\ ([^ ]+)\ \[([^]]+)\]\ ?(.*)$ ]] || continue
      status=${BASH_REMATCH[1]} id=${BASH_REMATCH[2]} tag=${BASH_REMATCH[3]} text=${BASH_REMATCH[4]}
      n_tap=$((n_tap + 1))
      got=pass
      [ "$status" = "not ok" ] && { got=fail; n_tap_failed=$((n_tap_failed + 1)); }
      [[ $text =~ ^\#\ SKIP\ (.*)$ ]] && { got=skip; text=${BASH_REMATCH[1]}; }
      key="$id $tag"
      seen["$key"]=1
      w=${want["$key"]:-}
      if [ "$w" = xfail ]; then
        failed_want=$(sorted_names ${why[$key]})
        if [ "$got" != fail ]; then
          problem "$key: expected the documented deviation (failed: $failed_want), got $got: $text"
        elif ! failed_got=$(failed_subconds "$text"); then
          problem "$key: expected the documented deviation (failed: $failed_want), got a failure without a sub-condition block: $text"
        elif [ "$failed_got" != "$failed_want" ]; then
          local reported unknown= nm
          reported=" $(failed_subconds "$text" all) "
          for nm in $failed_want; do [[ $reported == *" $nm "* ]] || unknown+=" $nm"; done
          if [ -n "$unknown" ]; then
            problem "$key: the xfail names${unknown}, which this check does not report (its sub-conditions:${reported% }); failed: '$failed_got'"
          else
            problem "$key: failed sub-conditions '$failed_got', the expectation documents only '$failed_want': $text"
          fi
        else
          skipped=$((skipped + 1))
          n_known=$((n_known + 1))
          known_list+="${known_list:+, }$id [$tag]: $failed_want"
        fi
      elif [ -z "$w" ]; then
        problem "$key: no expectation for this check (got $got: $text)"
      elif [ "$w" != "$got" ]; then
        problem "$key: expected $w${why[$key]:+ (${why[$key]})}, got $got: $text"
      elif [ "$got" = fail ] && [[ "$text" != *"${why[$key]}"* ]]; then
        problem "$key: failed as expected but for '$text', expected '${why[$key]}'"
      elif [ "$got" = fail ]; then
        passed=$((passed + 1))
        n_expected_fail=$((n_expected_fail + 1))
      elif [ "$got" = skip ] && [[ "$text" != *"${why[$key]}"* ]]; then
        problem "$key: skipped for '$text', expected reason '${why[$key]}'"
      elif [ "$got" = skip ]; then
        skipped=$((skipped + 1))
        n_tap_skipped=$((n_tap_skipped + 1))
      elif [[ "$text" != *"${why[$key]}"* ]]; then
        problem "$key: passed, but the evidence lacks the expected '${why[$key]}': $text"
      else
        passed=$((passed + 1))
        n_tap_passed=$((n_tap_passed + 1))
      fi
    done < "$tap"
  fi
  for key in "${order[@]}"; do
    [ -n "${seen[$key]:-}" ] || problem "$key: expected ${want[$key]} but the run never reported it"
  done
}
