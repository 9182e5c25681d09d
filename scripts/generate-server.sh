#!/usr/bin/env bash
# Times `reconsim generate --backend URL` (the fleet streamed into a MySQL/MariaDB database)
# and records each run's wall time and peak RSS (from /usr/bin/time: the whole process) in
# results/<UTC time>-generate-server-<scenario>/: runs.csv, one row per run, the first line
# each run printed in lines.txt, and summary.txt (medians).
# Usage: scripts/generate-server.sh URL [SCENARIO=scenarios/fleet-100k.toml] [RUNS=3] [BASELINE]
# URL's database is replaced on every run (--force): use a scratch database, never a real
# Fleet's. BASELINE: another reconsim binary; each run then generates with it and with this
# tree's binary in turn (`binary` column: baseline, this).
set -euo pipefail
url=${1:?usage: scripts/generate-server.sh URL [SCENARIO] [RUNS] [BASELINE]}
. "$(dirname "$0")/common.sh"
ab_args generate-server scenarios/fleet-100k.toml "${@:2}"
ab_binaries "$baseline"
echo "run,binary,wall_s,peak_rss_mib" > "$out/runs.csv.tmp"
for i in $(seq 1 "$runs"); do
  for b in "${binaries[@]}"; do
    /usr/bin/time -f '%e %M' -o "$work/time" "$work/$b" generate --scenario "$scenario" \
      --backend "$url" --force > "$work/stdout"
    read -r wall rss < "$work/time"
    echo "$i,$b,$wall,$(( rss / 1024 ))" >> "$out/runs.csv.tmp"
    echo "run $i ($b): $(head -n 1 "$work/stdout")" | sed -E 's#//[^:@/]*:[^@]*@#//#' >> "$out/lines.txt"
    echo "run $i ($b): $wall s, peak RSS $(( rss / 1024 )) MiB" >&2
  done
done
tail -n +2 "$work/stdout" > "$out/fleet-summary.txt"
mv "$out/runs.csv.tmp" "$out/runs.csv"
{
  bench_header "$scenario" "$runs" "$baseline"
  for b in "${binaries[@]}"; do
    sel() { awk -F, -v b="$b" -v c="$1" 'NR > 1 && $2 == b {print $c}' "$out/runs.csv"; }
    echo "$b: median wall $(sel 3 | median) s, peak RSS $(sel 4 | median) MiB"
  done
} > "$out/summary.txt"
cat "$out/summary.txt"
echo "wrote $out"
