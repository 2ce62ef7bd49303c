#!/usr/bin/env bash
# Builds the libFuzzer binaries and fuzzes each target for a while, one target at a time.
#
# Usage: Fuzz/run.sh SECONDS|runs=N [TARGET…]     (no TARGET: every target)
#        Fuzz/run.sh list
# Prints one summary line per target:
#   fuzz TARGET: N execs, N exec/s, cov N, ft N, corpus N, findings N [crash-… files]
# and exits 1 if any target found something (crash, hang past -timeout, or memory past the limits).
#
# Each target starts from its committed seeds (Fuzz/Corpus/TARGET) and keeps what it adds in
# .build/fuzz-work/corpus/TARGET (HOIST_FUZZ_MERGE=1 merges the additions back into Fuzz/Corpus).
# Findings land in .build/fuzz-work/findings/. Replay one without libFuzzer:
#   swift build --product HoistFuzz && .build/debug/HoistFuzz TARGET FILE
#
# Env: HOIST_FUZZ_NO_BUILD=1  skip the build (the binaries in .build/fuzz are current)
#      HOIST_FUZZ_BUILD_TIMEOUT  seconds the build may take (default: no limit); past it, say so and exit 0
#      HOIST_FUZZ_ARGS        more libFuzzer flags (e.g. "-max_len=16384 -jobs=1")
#      HOIST_FUZZ_MERGE=1     merge new corpus inputs into Fuzz/Corpus (minimised with -merge=1)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

# Which binary holds which target (the `targets` lists of Fuzz/Sources/*/Hoist*.swift).
light=(sigv4-header sigv4-query sigv4-verifier aws-chunked post-policy flatjson s3-event)
heavy=(form-data xml xml-cors xml-lifecycle xml-notification bucket-policy jws jwks image-header animation-frames avif-metadata)

if [ "${1:-}" = list ]; then printf '%s\n' "${light[@]}" "${heavy[@]}"; exit 0; fi
budget=${1:?usage: Fuzz/run.sh SECONDS|runs=N [TARGET…]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${light[@]}" "${heavy[@]}")

product_of() {
  local t
  for t in "${light[@]}"; do [ "$t" = "$1" ] && { echo HoistFuzz; return; }; done
  for t in "${heavy[@]}"; do [ "$t" = "$1" ] && { echo HoistFuzzStore; return; }; done
  echo "unknown target $1 (Fuzz/run.sh list)" >&2
  exit 2
}

scratch=$repo/.build/fuzz
work=$repo/.build/fuzz-work
mkdir -p "$work/corpus" "$work/findings" "$work/logs"

# Build each product the targets need (instrumented: --sanitize fuzzer; its own scratch path so
# the ordinary debug build is not rebuilt).
declare -A built=()
for t in "${targets[@]}"; do
  p=$(product_of "$t")
  [ -n "${built[$p]:-}" ] && continue
  built[$p]=1
  if [ "${HOIST_FUZZ_NO_BUILD:-0}" != 1 ]; then
    echo "building $p (instrumented for libFuzzer)"
    rc=0
    timeout "${HOIST_FUZZ_BUILD_TIMEOUT:-0}" nice -n 10 swift build --scratch-path "$scratch" --sanitize fuzzer \
      -Xswiftc -DHOIST_LIBFUZZER --product "$p" || rc=$?
    if [ "$rc" -eq 124 ]; then
      # A cold build instruments swift-crypto's BoringSSL and more; what was built is kept for the next run.
      echo "fuzz: the build of $p took longer than HOIST_FUZZ_BUILD_TIMEOUT=${HOIST_FUZZ_BUILD_TIMEOUT}s; fuzzing skipped this time"
      exit 0
    fi
    [ "$rc" -eq 0 ] || exit "$rc"
  fi
done
bindir=$(swift build --scratch-path "$scratch" --show-bin-path)

case "$budget" in
  runs=*) limit=(-runs="${budget#runs=}") ;;
  *) limit=(-max_total_time="$budget") ;;
esac

status=0
for t in "${targets[@]}"; do
  p=$(product_of "$t")
  corpus=$work/corpus/$t
  mkdir -p "$corpus"
  # libFuzzer exits at once (0 executions) when a corpus folder is missing: a target without seeds
  # is a mistake to report, not a run to skip quietly.
  if [ ! -d "Fuzz/Corpus/$t" ]; then
    echo "fuzz $t: no seed corpus (Fuzz/Corpus/$t; Fuzz/make-seeds.py writes the seeds)"
    status=1
    continue
  fi
  log=$work/logs/$t.log
  before=$(ls "$work/findings" | grep -c "^$t-" || true)
  # SWIFT_BACKTRACE=enable=no: libFuzzer's own signal handler saves the crashing input.
  # -timeout: a hang is a finding; -rss_limit_mb / -malloc_limit_mb: so is unbounded memory.
  # shellcheck disable=SC2086
  SWIFT_BACKTRACE=enable=no HOIST_FUZZ_TARGET=$t nice -n 10 "$bindir/$p" "${limit[@]}" \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
    -artifact_prefix="$work/findings/$t-" ${HOIST_FUZZ_ARGS:-} "$corpus" "Fuzz/Corpus/$t" >"$log" 2>&1 || true
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)
  size=$(ls "$corpus" | wc -l)
  new=$(ls "$work/findings" | grep "^$t-" || true)
  count=$(( $(printf '%s' "$new" | grep -c . || true) - before ))
  [ "$count" -gt 0 ] && status=1
  [ "${execs:-0}" -gt 0 ] || { echo "fuzz $t: ran 0 executions (see $log)"; status=1; }
  echo "fuzz $t: ${execs:-0} execs, ${rate:-0} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus $size, findings $count$( [ "$count" -gt 0 ] && echo " ($(echo $new | tr '\n' ' '))" )"
  if [ "$count" -gt 0 ]; then
    # What the finding was (the check that failed, or libFuzzer's report), so a CI log shows it.
    grep -vE '^(INFO|#[0-9]|MS: |base unit|    #)' "$log" | head -n 25 | sed 's/^/  | /'
    for f in $new; do echo "  | input $f: $(head -c 64 "$work/findings/$f" | od -An -c | tr -s ' ' | head -n 2 | tr '\n' ' ')"; done
  fi
  if [ "${HOIST_FUZZ_MERGE:-0}" = 1 ]; then
    HOIST_FUZZ_TARGET=$t nice -n 10 "$bindir/$p" -merge=1 "Fuzz/Corpus/$t" "$corpus" >/dev/null 2>&1 || true
  fi
done
exit $status
