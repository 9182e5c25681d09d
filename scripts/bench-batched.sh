#!/usr/bin/env bash
# The batched pass against the floor (issue 15, item 3), A/B: `reconsim measure --only
# floor,batched --runs 3` on one generated fleet, RUNS times, alternating the binaries, into
# results/<UTC time>-batched-<scenario>/:
#   runs.tsv     one line per measure: binary, run, the floor and each phase of the pass as
#                the median of its 3 runs (ms: the phases summed over the pass's ticks), and
#                the in-run ratio batched/floor measure printed;
#   summary.txt  medians over the RUNS lines per binary;
#   deltas.txt   whether `diff --path batched` wrote the same CSV with every binary.
# Usage: scripts/bench-batched.sh [SCENARIO=scenarios/fleet-100k.toml] [RUNS=3] [BASELINE]
# Takes about 2 minutes a run at 100k hosts (both binaries).
set -euo pipefail
. "$(dirname "$0")/common.sh"
ab_args batched scenarios/fleet-100k.toml "$@"
ab_binaries "$baseline"
echo "== generating $name" >&2
"$work/this" generate --scenario "$scenario" --db "$db" --quiet
phases=(window catalog memberships current_rows compute)
{
  printf 'binary\trun\tfloor_ms'
  printf '\t%s_ms' "${phases[@]}"
  printf '\tbatched_ms\tbatched_per_floor\n'
} > "$out/runs.tsv"
for r in $(seq 1 "$runs"); do
  for b in "${binaries[@]}"; do
    echo "== run $r, $b" >&2
    rm -rf "$work/m"
    "$work/$b" measure --db "$db" --runs 3 --only floor,batched --out "$work/m" --quiet \
      > "$work/m.txt"
    # "  batched  current_rows   1403.0" / "median in-run ratios: batched/floor 2.55"
    val() { awk -v w="$1" -v p="$2" '$1 == w && $2 == p {print $3}' "$work/m.txt"; }
    {
      printf '%s\t%s\t%s' "$b" "$r" "$(val floor total)"
      for p in "${phases[@]}"; do printf '\t%s' "$(val batched "$p")"; done
      printf '\t%s\t%s\n' "$(val batched total)" \
        "$(sed -n 's/.*batched\/floor \([0-9.]*\).*/\1/p' "$work/m.txt")"
    } >> "$out/runs.tsv"
  done
done
for b in "${binaries[@]}"; do
  "$work/$b" diff --db "$db" --path batched --out "$work/deltas-$b.csv" --quiet
done
{
  for b in "${binaries[@]}"; do
    echo "$b: $(sha256sum < "$work/deltas-$b.csv" | cut -c1-16) ($(wc -l < "$work/deltas-$b.csv") lines)"
  done
  n=$(for b in "${binaries[@]}"; do sha256sum < "$work/deltas-$b.csv"; done | sort -u | wc -l)
  echo "distinct delta files: $n (1 = every binary decided the same)"
} > "$out/deltas.txt"
{
  bench_header "$scenario" "$runs" "$baseline"
  echo "medians over runs (ms; batched/floor is measure's in-run ratio)"
  head -n 1 "$out/runs.tsv" | cut -f 3- | sed 's/^/binary\t/'
  for b in "${binaries[@]}"; do
    printf '%s' "$b"
    for c in $(seq 3 10); do
      printf '\t%s' "$(awk -F'\t' -v b="$b" -v c="$c" 'NR > 1 && $1 == b {print $c}' \
        "$out/runs.tsv" | median)"
    done
    printf '\n'
  done
} > "$out/summary.txt"
cat "$out/summary.txt" "$out/deltas.txt"
