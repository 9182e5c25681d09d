#!/usr/bin/env bash
# Issue 14's figures: Fleet's current drain loop (W 2,000, C 2,000, T 12 s wall-clock) against
# the batched path (one window of 5,000 a tick) and legacy (tuned SQL), at 100,000 hosts.
# A generated fleet holds a backlog of work for every path (legacy clears it in one tick, the
# batched path in one pass, the drain loop at 2,000 hosts a tick in ~40 ticks), so the paged
# paths run 45 unrecorded warm-up ticks first; legacy (about 30-40 s a tick at this size) runs
# apart with one warm-up tick, so its cost does not multiply the warm-up:
#  - trickle (one team transfer and one label flip a virtual minute): batched + drain, 24
#    ticks; legacy, 8 ticks;
#  - bulk-change (ten profiles for every host after tick 5): batched + drain, 48 ticks;
#  - team-transfer (30,000 hosts change team after tick 5): batched + drain, 16 ticks;
#    legacy, 8 ticks.
# Each run into its own results/<UTC time>-drain-<scenario>-<paths> folder (stdout.txt: the
# summary, wall time and peak RSS). Usage: scripts/drain-figures.sh [HOSTS=100000]. About 50
# minutes on 2 cores at 100k.
set -euo pipefail
hosts=${1:-100000}
. "$(dirname "$0")/common.sh"
fleet="drain:window=2000,cap=2000,budget=12s"
run() { # run NAME LABEL WARMUP TICKS APPROACH...
  local name=$1 label=$2 warmup=$3 ticks=$4; shift 4
  local out="results/$stamp-drain-$name-$label"
  sed "s/^count = 100000 /count = $hosts /" "scenarios/$name.toml" > "$work/$name.toml"
  local args=()
  for a in "$@"; do args+=(--approach "$a"); done
  echo "== $name: $* ($warmup warm-up + $ticks ticks, $hosts hosts)" >&2
  /usr/bin/time -f '%e %M' -o "$work/t" "$bin" loadtest --scenario "$work/$name.toml" \
    --ticks "$ticks" --warmup-ticks "$warmup" "${args[@]}" --out "$out" > "$work/stdout.txt" \
    || [ $? -eq 1 ]
  read -r secs _ < <(tail -n 1 "$work/t")
  echo "wall ${secs} s, process peak RSS $(manifest_peak_mib "$out") MiB" >> "$work/stdout.txt"
  mv "$work/stdout.txt" "$out/"
}
run bulk-change paged 45 48 batched "$fleet"
run team-transfer paged 45 16 batched "$fleet"
run team-transfer legacy 1 8 legacy
run trickle paged 45 24 batched "$fleet"
run trickle legacy 1 8 legacy
