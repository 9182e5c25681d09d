#!/usr/bin/env bash
# The issue-6 figures of results/README.md (MariaDB and Redis next to SQLite), into
# results/<UTC time>-backends/:
#  - load-10k.txt, load-100k.txt: `generate --backend mysql://…` of fleet-10k (3 runs) and
#    fleet-100k (1 run), by multi-row INSERTs then by LOAD DATA LOCAL INFILE (rows/s);
#  - measure/: `measure --backend sqlite:… --backend mysql://…` on fleet-10k, RUNS runs
#    interleaved (floor, legacy tuned, batched per phase; medians and in-run ratios);
#  - measure-100k/: the same on fleet-100k, one run; compare-mysql-100k.txt: `compare` there;
#  - compare-mysql.txt: `compare` on the server (the SQLite-copy cross-check line);
#  - loadtest/: fleet-10k loadtest on both backends side by side (TICKS ticks per path);
#  - repro.txt: every repro catalog entry on the server, the cursor in Redis;
#  - as-written-quick.txt: Fleet's as-written legacy SQL on the quick fleet on both backends.
# Servers: RECONSIM_MYSQL (default mysql://reconsim:reconsim@127.0.0.1:3306/reconsim) and
# RECONSIM_REDIS (default redis://127.0.0.1:6379); `scripts/servers.sh start` starts both.
# Usage: scripts/backends-reference.sh [RUNS] [TICKS] (defaults 3, 6; about 20 minutes).
set -euo pipefail
runs=${1:-3}
ticks=${2:-6}
my=${RECONSIM_MYSQL:-mysql://reconsim:reconsim@127.0.0.1:3306/reconsim}
redis=${RECONSIM_REDIS:-redis://127.0.0.1:6379}
head=${my%/*}
. "$(dirname "$0")/common.sh"
out="results/$stamp-backends"
mkdir -p "$out"
# Databases next to the URL's (generate creates them): <db>_ref10k, _ref100k, _refquick, _refrepro.
db=${my##*/}
mkdb() { echo "$head/${db}_$1"; }
"$bin" generate --scenario scenarios/quick.toml --backend "$(mkdb refrepro)" --force --quiet

"$bin" generate --scenario scenarios/fleet-10k.toml --db "$work/f10k.db" --force --quiet
for method in insert infile; do # the last load (infile) is the fleet the steps below read
  for _ in 1 2 3; do
    "$bin" generate --scenario scenarios/fleet-10k.toml --backend "$(mkdb ref10k)" --force \
      --load-method "$method" | head -1 >> "$out/load-10k.txt"
  done
  "$bin" generate --scenario scenarios/fleet-100k.toml --backend "$(mkdb ref100k)" --force \
    --load-method "$method" | head -1 >> "$out/load-100k.txt"
done

"$bin" measure --backend "sqlite:$work/f10k.db" --backend "$(mkdb ref10k)" --runs "$runs" \
  --out-dir "$out/measure" --quiet > /dev/null
# fleet-100k, one run on each backend (legacy ~30 s on SQLite, minutes on the server).
"$bin" generate --scenario scenarios/fleet-100k.toml --db "$work/f100k.db" --force --quiet
"$bin" measure --backend "sqlite:$work/f100k.db" --backend "$(mkdb ref100k)" --runs 1 \
  --out-dir "$out/measure-100k" --quiet > /dev/null
rm -f "$work/f100k.db"
# compare on the server at 100k: the snapshot copy, the cross-check, wall time and peak RSS.
code=0
/usr/bin/time -f 'wall %e s, peak RSS %M KiB' -o "$work/t100" "$bin" compare \
  --backend "$(mkdb ref100k)" --quiet --out-dir "$work/c100" > "$out/compare-mysql-100k.txt" || code=$?
[ "$code" -le 1 ] || exit "$code"
cat "$work/t100" >> "$out/compare-mysql-100k.txt"
code=0
"$bin" compare --backend "$(mkdb ref10k)" --quiet --out-dir "$work/c" > "$out/compare-mysql.txt" || code=$?
[ "$code" -le 1 ] || exit "$code"

finding_ok "$bin" loadtest --scenario scenarios/fleet-10k.toml --backend sqlite --backend "$my" \
  --ticks "$ticks" --out "$out/loadtest" --quiet

for name in $("$bin" repro --list | awk '{print $1}'); do
  code=0
  "$bin" repro "$name" --backend "$(mkdb refrepro)" --cursor "$redis" --force >> "$out/repro.txt" || code=$?
  [ "$code" -le 1 ] || exit "$code"
  echo >> "$out/repro.txt"
done

"$bin" generate --scenario scenarios/quick.toml --db "$work/q.db" --force --quiet
"$bin" generate --scenario scenarios/quick.toml --backend "$(mkdb refquick)" --force --quiet
"$bin" measure --backend "sqlite:$work/q.db" --backend "$(mkdb refquick)" --runs 1 --only legacy \
  --legacy-sql as-written --out-dir "$work/aw" --quiet > "$out/as-written-quick.txt"
echo "wrote $out"
