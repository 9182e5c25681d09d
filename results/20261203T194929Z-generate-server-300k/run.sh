#!/usr/bin/env bash
# One streamed generation of the fleet-1m shape at 300,000 hosts into a scratch MariaDB
# database (scripts/servers.sh's), wall time and peak RSS from /usr/bin/time. Run from the
# repository root with the release binary built; URL defaults to servers.sh's test account.
set -euo pipefail
url=${1:-mysql://reconsim:reconsim@127.0.0.1:13306/reconsim_genbench}
out=$(dirname "$0")
/usr/bin/time -f 'wall_s %e peak_rss_kib %M' -o "$out/time.txt" target/release/reconsim generate \
  --scenario scenarios/fleet-1m.toml --hosts 300000 --backend "$url" --force \
  | sed -E 's#//[^:@/]*:[^@]*@#//#' > "$out/stdout.txt"
cat "$out/time.txt"
