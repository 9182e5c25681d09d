#!/usr/bin/env bash
# The loadtest figures of results/README.md, each into its own results/<UTC time>-loadtest-* folder:
#  - quick, both paths (the README's main command), with a headless-Chromium screenshot of
#    report.html (scripts/screenshot.sh);
#  - fleet-10k, both paths, 8 ticks (4 pass boundaries), sequential and --concurrent-churn,
#    and `report compare` of the two (compare.txt);
#  - fleet-100k, batched path, one full pass, generation included (wall time and peak RSS in
#    time.txt: issue 4's "under 2 minutes");
#  - fleet-100k, batched path, one full pass after a warm-up pass (--warmup-ticks 20): the
#    steady state;
#  - fleet-100k, both paths, 3 ticks on a generated fleet (each legacy tick is a whole diff);
#  - `sweep` of the fleet-100k scenario at 1,000, 10,000 and 100,000 hosts, RUNS runs each.
# Usage: scripts/loadtest-reference.sh [RUNS=3]. About 12 minutes on 2 cores.
set -euo pipefail
runs=${1:-3}
. "$(dirname "$0")/common.sh"
r="results/$stamp-loadtest"

timed() { # timed OUT_TXT CMD...: runs CMD, appends wall time and peak RSS to OUT_TXT
  local out=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" || [ $? -eq 1 ] # exit 1: a finding, not an error
  read -r secs kb < <(tail -n 1 "$work/t")
  # loadtest and sweep reset the kernel's peak as they go: %M is the peak since the last reset
  # (a loadtest's manifest.json has the whole process's, `process_peak_rss_kib`).
  echo "wall ${secs} s, peak RSS since the last reset $((kb / 1024)) MiB: $*" >> "$out"
}

echo "== quick, both paths" >&2
finding_ok "$bin" loadtest --scenario scenarios/quick.toml --out "$r-quick" --quiet
scripts/screenshot.sh "$r-quick" || echo "(no screenshot)" >&2

echo "== fleet-10k, both paths, sequential and concurrent churn" >&2
"$bin" generate --scenario scenarios/fleet-10k.toml --db "$work/f10k.db" --force --quiet
for mode in sequential concurrent; do
  extra=(); [ "$mode" = concurrent ] && extra=(--concurrent-churn)
  out="$r-fleet-10k-$mode"
  timed "$work/time.txt" "$bin" loadtest --scenario scenarios/fleet-10k.toml --db "$work/f10k.db" \
    --ticks 8 --out "$out" "${extra[@]}" > "$work/stdout.txt"
  mv "$work/time.txt" "$work/stdout.txt" "$out/"
done
code=0
"$bin" report compare "$r-fleet-10k-sequential" "$r-fleet-10k-concurrent" \
  > "$r-fleet-10k-concurrent/compare.txt" || code=$?
[ "$code" -le 1 ] || exit "$code"

echo "== fleet-100k, batched, one pass, generation included" >&2
out="$r-fleet-100k-batched"
timed "$work/time.txt" "$bin" loadtest --scenario scenarios/fleet-100k.toml --paths batched \
  --out "$out" > "$work/stdout.txt"
mv "$work/time.txt" "$work/stdout.txt" "$out/"

echo "== fleet-100k, batched, one pass after a warm-up pass" >&2
out="$r-fleet-100k-batched-warm"
timed "$work/time.txt" "$bin" loadtest --scenario scenarios/fleet-100k.toml --paths batched \
  --warmup-ticks 20 --out "$out" > "$work/stdout.txt"
mv "$work/time.txt" "$work/stdout.txt" "$out/"

echo "== fleet-100k, both paths, 3 ticks" >&2
"$bin" generate --scenario scenarios/fleet-100k.toml --db "$work/f100k.db" --force --quiet
out="$r-fleet-100k-both"
timed "$work/time.txt" "$bin" loadtest --scenario scenarios/fleet-100k.toml --db "$work/f100k.db" \
  --ticks 3 --out "$out" > "$work/stdout.txt"
mv "$work/time.txt" "$work/stdout.txt" "$out/"

echo "== sweep" >&2
"$bin" sweep --scenario scenarios/fleet-100k.toml --hosts 1000,10000,100000 --runs "$runs" \
  --out "results/$stamp-sweep-fleet-100k" --quiet
echo "wrote results/$stamp-*" >&2
