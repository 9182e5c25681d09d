#!/usr/bin/env bash
# Times `reconsim generate` on a scenario several times and writes the runs to
# results/<UTC time>-generate-<scenario>/: runs.csv (one row per run) and summary.txt (medians).
# Usage: scripts/bench-generate.sh [SCENARIO=scenarios/fleet-100k.toml] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-scenarios/fleet-100k.toml}
runs=${2:-3}
name=$(basename "$scenario" .toml)
out="results/$(date -u +%Y%m%dT%H%M%SZ)-generate-$name"
mkdir -p "$out"
cargo build --release --quiet
bin=target/release/reconsim
db=$(mktemp -d)/fleet.db
echo "run,wall_s,rows,rows_per_s,peak_rss_mib,build_s,insert_s,index_s,analyze_s" > "$out/runs.csv.tmp"
for i in $(seq 1 "$runs"); do
  /usr/bin/time -f '%M' -o "$out/rss.tmp" "$bin" generate --scenario "$scenario" --db "$db" --force \
    > "$out/stdout.tmp"
  line=$(head -n 1 "$out/stdout.tmp")
  # generated DB (scenario S, seed N, H hosts): R rows in T s (X rows/s; build a s, insert b s, index c s, analyze d s)
  rows=$(sed -E 's/.*: ([0-9]+) rows in.*/\1/' <<<"$line")
  secs=$(sed -E 's/.* rows in ([0-9.]+) s.*/\1/' <<<"$line")
  rps=$(sed -E 's/.*\(([0-9]+) rows\/s.*/\1/' <<<"$line")
  parts=$(sed -E 's/.*build ([0-9.]+) s, insert ([0-9.]+) s, index ([0-9.]+) s, analyze ([0-9.]+) s.*/\1,\2,\3,\4/' <<<"$line")
  rss=$(( $(cat "$out/rss.tmp") / 1024 ))
  echo "$i,$secs,$rows,$rps,$rss,$parts" >> "$out/runs.csv.tmp"
  echo "run $i: $line (peak RSS $rss MiB)" >&2
done
tail -n +2 "$out/stdout.tmp" > "$out/fleet-summary.txt"
mv "$out/runs.csv.tmp" "$out/runs.csv"
rm -f "$out/rss.tmp" "$out/stdout.tmp" "$db"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
{
  echo "scenario: $scenario"
  echo "runs: $runs"
  echo "reconsim: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "median seconds: $(tail -n +2 "$out/runs.csv" | cut -d, -f2 | median)"
  echo "median rows/s: $(tail -n +2 "$out/runs.csv" | cut -d, -f4 | median)"
  echo "median peak RSS MiB: $(tail -n +2 "$out/runs.csv" | cut -d, -f5 | median)"
} > "$out/summary.txt"
cat "$out/summary.txt"
echo "wrote $out" >&2
