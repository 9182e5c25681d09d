#!/usr/bin/env bash
# How close the batched pass can come to the floor (issue 15, item 3): `reconsim measure --only
# floor,batched,reads --runs 3` on one generated fleet, RUNS times, into
# results/<UTC time>-batched-bounds-<scenario>/:
#   runs.tsv     one line per measure: the floor, the reads pass (the batched pass's queries
#                alone: same windows, every value touched, nothing decoded or decided) per phase
#                and in total, the batched pass per phase and in total (ms, medians of measure's
#                3 runs), and measure's in-run ratios reads/floor, batched/floor, batched/reads;
#   summary.txt  medians over the RUNS lines.
# A pass must run its queries, so reads/floor is as close to the floor as any decoding and
# deciding on top of them can bring it; batched - reads is what reconsim's decoding and the
# per-host diff cost.
# Usage: scripts/batched-bounds.sh [SCENARIO=scenarios/fleet-100k.toml] [RUNS=3]
# Takes about 1.5 minutes a run at 100k hosts.
set -euo pipefail
. "$(dirname "$0")/common.sh"
ab_args batched-bounds scenarios/fleet-100k.toml "${1:-}" "${2:-3}"
ab_binaries ""
echo "== generating $name" >&2
"$work/this" generate --scenario "$scenario" --db "$db" --quiet
phases=(window catalog memberships current_rows)
{
  printf 'run\tfloor_ms'
  printf '\treads_%s_ms' "${phases[@]}"
  printf '\treads_ms'
  printf '\tbatched_%s_ms' "${phases[@]}" compute
  printf '\tbatched_ms\treads_per_floor\tbatched_per_floor\tbatched_per_reads\n'
} > "$out/runs.tsv"
for r in $(seq 1 "$runs"); do
  echo "== run $r" >&2
  rm -rf "$work/m"
  "$work/this" measure --db "$db" --runs 3 --only floor,batched,reads --out "$work/m" --quiet \
    > "$work/m.txt"
  cp "$work/m.txt" "$out/measure-$r.txt"
  # "  reads    current_rows   1291.7" / "median in-run ratios: batched/floor 2.13, ..."
  val() { awk -v w="$1" -v p="$2" '$1 == w && $2 == p {print $3}' "$work/m.txt"; }
  ratio() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" "$work/m.txt"; }
  {
    printf '%s\t%s' "$r" "$(val floor total)"
    for p in "${phases[@]}"; do printf '\t%s' "$(val reads "$p")"; done
    printf '\t%s' "$(val reads total)"
    for p in "${phases[@]}" compute; do printf '\t%s' "$(val batched "$p")"; done
    printf '\t%s\t%s\t%s\t%s\n' "$(val batched total)" "$(ratio 'reads\/floor')" \
      "$(ratio 'batched\/floor')" "$(ratio 'batched\/reads')"
  } >> "$out/runs.tsv"
done
{
  bench_header "$scenario" "$runs" ""
  echo "medians over runs (ms; the ratios are measure's in-run ratios)"
  cols=$(head -n 1 "$out/runs.tsv" | awk -F'\t' '{print NF}')
  for c in $(seq 2 "$cols"); do
    printf '%-26s %s\n' "$(head -n 1 "$out/runs.tsv" | cut -f "$c")" \
      "$(awk -F'\t' -v c="$c" 'NR > 1 {print $c}' "$out/runs.tsv" | median)"
  done
} > "$out/summary.txt"
cat "$out/summary.txt"
