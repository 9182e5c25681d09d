#!/usr/bin/env bash
# The reconciler figures of results/README.md, on fleet-10k and fleet-100k:
#  - `reconsim measure` (floor scan, legacy diff, batched pass; RUNS runs; medians and in-run
#    ratios) for each fleet, into results/<UTC time>-measure-<fleet>/;
#  - the as-written legacy SQL on fleet-10k only (it does not finish at 100k, spec §9);
#  - peak RSS of each path alone (`measure --only batched|legacy --runs 1 --mmap-mib 0`: no
#    memory-mapped file pages in the RSS, and the batched pass keeps no deltas, so its memory is
#    the window's plus SQLite's page cache, capped at 256 MiB), into
#    results/<UTC time>-memory/memory.csv; the batched pass again with a 32 MiB page cache,
#    smaller than either file, to show the window-bounded part alone.
# Usage: scripts/bench-reconcile.sh [RUNS=3]. Takes about 10 minutes on 2 cores.
#  - on fleet-100k: one `compare` (wall time and peak RSS; summary kept in
#    results/<UTC time>-compare-fleet-100k/) and one `loadtest --paths batched` over one pass.
# MEMORY_ONLY=1 skips the timing runs (generation and memory rows only).
set -euo pipefail
runs=${1:-3}
. "$(dirname "$0")/common.sh"
mem="results/$stamp-memory"
mkdir -p "$mem"
echo "fleet,command,peak_rss_mib,seconds" > "$mem/memory.csv.tmp"
for fleet in fleet-10k fleet-100k; do
  db="$work/$fleet.db"
  echo "== generating $fleet" >&2
  "$bin" generate --scenario "scenarios/$fleet.toml" --db "$db" --force --quiet
  if [ -z "${MEMORY_ONLY:-}" ]; then
    echo "== measuring $fleet" >&2
    "$bin" measure --db "$db" --runs "$runs" --out-dir "results/$stamp-measure-$fleet"
    if [ "$fleet" = fleet-10k ]; then
      "$bin" measure --db "$db" --runs "$runs" --legacy-sql as-written \
        --out-dir "results/$stamp-measure-$fleet-as-written"
    fi
  fi
  for spec in "batched 256" "legacy 256" "batched 32"; do
    read -r what cache <<<"$spec"
    /usr/bin/time -f '%M %e' -o "$work/t" "$bin" measure --db "$db" --runs 1 --only "$what" \
      --mmap-mib 0 --cache-mib "$cache" --quiet --out-dir "$work/m" > /dev/null
    read -r kb secs < <(tail -n 1 "$work/t")
    echo "$fleet,measure --only $what --cache-mib $cache,$((kb / 1024)),$secs" >> "$mem/memory.csv.tmp"
  done
  if [ "$fleet" = fleet-100k ]; then
    cmp="results/$stamp-compare-$fleet"
    mkdir -p "$cmp"
    code=0
    /usr/bin/time -f '%M %e' -o "$work/t" "$bin" compare --db "$db" --out-dir "$work/c" --quiet \
      > /dev/null || code=$?
    [ "$code" -le 1 ] || exit "$code"
    read -r kb secs < <(tail -n 1 "$work/t")
    cp "$work/c/summary.txt" "$cmp/summary.txt"
    echo "compare exit $code, peak RSS $((kb / 1024)) MiB, $secs s" >> "$cmp/summary.txt"
    finding_ok /usr/bin/time -f '%M %e' -o "$work/t" "$bin" loadtest \
      --scenario "scenarios/$fleet.toml" --db "$db" --paths batched \
      --out "results/$stamp-loadtest-$fleet-batched" --quiet
    read -r _ secs < <(tail -n 1 "$work/t")
    echo "loadtest wall time $secs s (fleet reused), process peak RSS $(manifest_peak_mib \
      "results/$stamp-loadtest-$fleet-batched") MiB" \
      > "results/$stamp-loadtest-$fleet-batched/time.txt"
  fi
done
mv "$mem/memory.csv.tmp" "$mem/memory.csv"
cat "$mem/memory.csv"
echo "wrote results/$stamp-*" >&2
