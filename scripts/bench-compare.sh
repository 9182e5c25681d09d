#!/usr/bin/env bash
# Times `reconsim generate -q` once and `reconsim compare` several times on the fleet it wrote,
# into results/<UTC time>-compare-<scenario>/: runs.csv (one row per compare),
# compare-<binary>-<run>.txt (what each compare printed) and summary.txt (medians, and
# generate + compare against issue 15's ten minutes at a million hosts). `-q` skips the
# summary `generate` prints after the fleet is written (one more scan of every table: about
# 95 s at a million hosts; `inspect` prints it on demand).
# Usage: scripts/bench-compare.sh [SCENARIO=scenarios/fleet-1m.toml] [RUNS=3] [BASELINE]
# BASELINE: another reconsim binary, or `sequential` (this tree's binary with
# `compare --sequential`, one connection); each run then compares with it and with this tree's
# binary in turn (`binary` column: baseline, this), so their ratio is measured in one run.
# Plain reads (`--mmap-mib 0`), so peak RSS is the process's own memory, not mapped file pages.
# Each run's divergences.csv is hashed (`divergences_sha256`: equal = the same rows) and
# removed (1 GB at a million hosts). Needs about 20 GB of scratch disk at 1M.
set -euo pipefail
. "$(dirname "$0")/common.sh"
ab_args compare scenarios/fleet-1m.toml "$@"
if [ "$baseline" = sequential ]; then
  ab_binaries ""
  printf '#!/bin/sh\nexec "%s" "$@" --sequential\n' "$work/this" > "$work/baseline"
  chmod +x "$work/baseline"
  binaries=(baseline this)
else
  ab_binaries "$baseline"
fi
/usr/bin/time -f '%e %M' -o "$work/t" "$work/this" generate --scenario "$scenario" --db "$db" -q
read -r gen_s gen_kb < "$work/t"
echo "generate: $gen_s s, peak RSS $((gen_kb / 1024)) MiB" >&2
echo "run,binary,wall_s,peak_rss_mib,exit,divergences_sha256" > "$out/runs.csv.tmp"
for i in $(seq 1 "$runs"); do
  for b in "${binaries[@]}"; do
    rc=0
    /usr/bin/time -f '%e %M' -o "$work/t" "$work/$b" compare --db "$db" --out "$work/cmp" \
      --mmap-mib 0 -q > "$out/compare-$b-$i.txt" || rc=$?
    if [ "$rc" -ge 2 ]; then echo "compare ($b) failed: exit $rc" >&2; exit 2; fi
    read -r s kb < <(tail -n 1 "$work/t")
    sha=$(sha256sum "$work/cmp/divergences.csv" | cut -d' ' -f1)
    rm -rf "$work/cmp"
    echo "$i,$b,$s,$((kb / 1024)),$rc,$sha" >> "$out/runs.csv.tmp"
    echo "run $i ($b): $s s, peak RSS $((kb / 1024)) MiB, exit $rc" >&2
  done
done
mv "$out/runs.csv.tmp" "$out/runs.csv"
{
  bench_header "$scenario" "$runs" "$baseline"
  echo "generate -q: $gen_s s, peak RSS $((gen_kb / 1024)) MiB (this tree's binary, once)"
  for b in "${binaries[@]}"; do
    sel() { awk -F, -v b="$b" -v c="$1" 'NR > 1 && $2 == b {print $c}' "$out/runs.csv"; }
    m=$(sel 3 | median)
    echo "$b: compare median $m s, peak RSS median $(sel 4 | median) MiB; generate + compare $(awk -v a="$gen_s" -v b="$m" 'BEGIN {printf "%.1f", a + b}') s"
  done
  echo "distinct divergences.csv: $(awk -F, 'NR > 1 {print $6}' "$out/runs.csv" | sort -u | wc -l) (1 = every run wrote the same rows)"
} > "$out/summary.txt"
cat "$out/summary.txt"
