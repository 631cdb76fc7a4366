# Sourced by tests/qemu/compare.sh and tests/model/judge.sh: judges a TAP file against an
# expectation file. Expectation lines: "<scenario-id> <tag> pass", "<scenario-id> <tag> skip
# <reason text>" or "<scenario-id> <tag> xfail <text>" (a documented deviation: the check must
# fail with the text in its evidence; counted as skipped, never as passed; an xfail that
# passes is reported). Every TAP check must match an expectation line with the same verdict;
# every expectation line must be met.
# Needs: a function problem() that prints and counts a failure, and the counters passed,
# skipped. Sets n_tap and n_tap_failed (TAP checks seen / reported "not ok").

judge_expectations() {  # TAP-FILE EXPECT-FILE
  local tap=$1 exp=$2 line status id tag verdict reason text got key w
  declare -A want=() why=() seen=()
  local order=()
  n_tap=0 n_tap_failed=0
  if [ ! -f "$exp" ]; then
    problem "no expectation file $exp"
  else
    while read -r id tag verdict reason; do
      [[ -z "$id" || "$id" == \#* ]] && continue
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
      if [ "$w" = xfail ] && [ "$got" = fail ] && [[ "$text" == *"${why[$key]}"* ]]; then
        skipped=$((skipped + 1))
      elif [ "$w" = xfail ]; then
        problem "$key: expected the documented deviation (fail: ${why[$key]}), got $got: $text"
      elif [ -z "$w" ]; then
        problem "$key: no expectation for this check (got $got: $text)"
      elif [ "$w" != "$got" ]; then
        problem "$key: expected $w${why[$key]:+ (${why[$key]})}, got $got: $text"
      elif [ "$got" = skip ] && [[ "$text" != *"${why[$key]}"* ]]; then
        problem "$key: skipped for '$text', expected reason '${why[$key]}'"
      elif [ "$got" = skip ]; then
        skipped=$((skipped + 1))
      else
        passed=$((passed + 1))
      fi
    done < "$tap"
  fi
  for key in "${order[@]}"; do
    [ -n "${seen[$key]:-}" ] || problem "$key: expected ${want[$key]} but the run never reported it"
  done
}
