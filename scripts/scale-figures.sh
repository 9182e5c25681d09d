#!/usr/bin/env bash
# Issue 15's figures at a given fleet size, one results/<UTC time>-scale-<N> folder:
#  - generate: wall time, rows/s and peak RSS of `generate -q` (the streaming generator) and of
#    the fleet summary (`inspect`), each from /usr/bin/time;
#  - measure: the floor, the batched pass and (LEGACY=1) the tuned legacy diff in one run, so
#    their ratios are in-run; RUNS runs, medians;
#  - (COMPARE=1) `compare` with plain reads (`--mmap-mib 0`, so its peak RSS is the process's
#    own memory, not mapped pages of the file): wall time, peak RSS, its summary;
#  - one drain tick (Fleet's W 2,000, C 2,000, budget 12 s) through `tick --variant drain`;
# The fleet file is kept in the scratch directory only (15 GB at a million hosts); the folder
# holds each step's output and a times.tsv (step, wall s, peak RSS MiB).
# Usage: scripts/scale-figures.sh SCENARIO [RUNS=3] [LEGACY=1] [COMPARE=0]
#   e.g. scripts/scale-figures.sh scenarios/fleet-1m.toml 1 0   (about 15 minutes on 2 cores;
#   with COMPARE=1 about 20 more)
set -euo pipefail
scenario=$(realpath "$1"); runs=${2:-3}; legacy=${3:-1}; compare=${4:-0}
. "$(dirname "$0")/common.sh"
name=$(basename "$scenario" .toml)
out="results/$stamp-scale-$name"
mkdir -p "$out"
db="$work/fleet.db"
printf 'step\twall_s\tpeak_rss_mib\n' > "$out/times.tsv"
timed() { # timed STEP COMMAND...: stdout into $out/STEP.txt, a row in times.tsv
  local step=$1; shift
  echo "== $step" >&2
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" > "$out/$step.txt"
  read -r secs kb < <(tail -n 1 "$work/t")
  printf '%s\t%s\t%s\n' "$step" "$secs" "$((kb / 1024))" >> "$out/times.tsv"
}
timed generate "$bin" generate --scenario "$scenario" --db "$db" -q
timed inspect "$bin" inspect --db "$db"
only=floor,batched
[ "$legacy" = 1 ] && only=floor,batched,legacy
timed measure "$bin" measure --db "$db" --runs "$runs" -q --only "$only" --out "$out/measure"
if [ "$compare" = 1 ]; then
  # Exit 1 is a finding (the fleet's known divergences), not a failure of the step.
  timed compare bash -c '"$@"; rc=$?; [ $rc -le 1 ]' _ "$bin" compare --db "$db" \
    --out-dir "$work/compare" --mmap-mib 0 -q
fi
timed drain-tick "$bin" tick --db "$db" --variant drain --window 2000 --cap 2000 --budget 12s
cat "$out/times.tsv"
