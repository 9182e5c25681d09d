#!/usr/bin/env bash
# Issue 15's scale sweep: `sweep` of the fleet-1m shape at 10k, 100k, 300k and 1M hosts, the
# tuned legacy diff, a batched pass and a drain pass at each size, RUNS runs each (medians),
# plain reads (`--mmap-mib 0`) so each path's peak RSS is the process's own memory. Writes
# results/<UTC time>-sweep-scale/ (sweep.csv, sweep.svg, sweep.txt) plus time.txt (the whole
# sweep's wall time from /usr/bin/time; not its peak RSS: the sweep resets the kernel's peak
# before every run, and /usr/bin/time reads that counter, so sweep.txt's last line gives the
# process's peak instead). Each size's fleet is generated into a
# scratch directory and removed once measured (15 GB at a million hosts).
# Usage: scripts/scale-sweep.sh [RUNS=3] [SIZES=10000,100000,300000,1000000] [PATHS=legacy,batched,drain]
#   about 40 minutes on 2 cores with RUNS=3 (the legacy diff at 1M is 3-6 minutes a run).
set -euo pipefail
runs=${1:-3}; sizes=${2:-10000,100000,300000,1000000}; paths=${3:-legacy,batched,drain}
. "$(dirname "$0")/common.sh"
out="results/$stamp-sweep-scale"
TMPDIR=$work /usr/bin/time -f 'wall_s %e' -o "$work/time" \
  "$bin" sweep --scenario scenarios/fleet-1m.toml --hosts "$sizes" \
  --paths "$paths" --runs "$runs" --mmap-mib 0 --out "$out" -q
{ echo "command: $bin sweep --scenario scenarios/fleet-1m.toml --hosts $sizes --paths $paths --runs $runs --mmap-mib 0 -q"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (uncommitted changes)')"
  grep '^wall_s' "$work/time"
} > "$out/time.txt"
cat "$out/time.txt"
