#!/usr/bin/env bash
# Issue 14's figures: Fleet's current drain loop (W 2,000, C 2,000, T 12 s wall-clock) against
# the batched path (one window of 5,000 a tick) and legacy (tuned SQL), at 100,000 hosts:
#  - trickle: one label flip a virtual minute, legacy + batched + drain, 2 warm-up ticks and
#    24 measured ticks (one batched pass of 21 ticks, and three);
#  - bulk-change: ten profiles for every host after tick 5, batched + drain, 2 warm-up ticks
#    and 50 measured ticks (legacy writes the change in one tick: see the trickle run for its
#    tick time);
#  - team-transfer: 30,000 hosts change team after tick 5, legacy + batched + drain, 12 ticks.
# Each run into its own results/<UTC time>-drain-<scenario> folder, summary on stdout.txt.
# Usage: scripts/drain-figures.sh [HOSTS=100000]. About 60 minutes on 2 cores at 100k.
set -euo pipefail
hosts=${1:-100000}
. "$(dirname "$0")/common.sh"
fleet="drain:window=2000,cap=2000,budget=12s"
run() { # run NAME TICKS APPROACH...
  local name=$1 ticks=$2; shift 2
  local out="results/$stamp-drain-$name"
  sed "s/^count = 100000 /count = $hosts /" "scenarios/$name.toml" > "$work/$name.toml"
  local args=()
  for a in "$@"; do args+=(--approach "$a"); done
  echo "== $name: $* ($ticks ticks, $hosts hosts)" >&2
  /usr/bin/time -f '%e %M' -o "$work/t" "$bin" loadtest --scenario "$work/$name.toml" \
    --ticks "$ticks" --warmup-ticks 2 "${args[@]}" --out "$out" > "$work/stdout.txt" \
    || [ $? -eq 1 ]
  read -r secs kb < <(tail -n 1 "$work/t")
  echo "wall ${secs} s, peak RSS $((kb / 1024)) MiB" >> "$work/stdout.txt"
  mv "$work/stdout.txt" "$out/"
}
run trickle 24 legacy batched "$fleet"
run bulk-change 50 batched "$fleet"
run team-transfer 12 legacy batched "$fleet"
