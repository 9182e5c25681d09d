#!/usr/bin/env bash
# Usage: run.sh RECONSIM WORKDIR (from this folder). Generates fleet-100k, converts a copy with
# convert.sql (Debian's sqlite3), then measures floor, batched and reads on each, in turn, twice.
set -euo pipefail
bin=$1; work=$2; here=$(cd "$(dirname "$0")" && pwd)
"$bin" generate --scenario "$here/../../scenarios/fleet-100k.toml" --db "$work/rowid.db" --force --quiet
cp "$work/rowid.db" "$work/without-rowid.db"
sqlite3 "$work/without-rowid.db" < "$here/convert.sql" > /dev/null
for r in 1 2; do
  for d in rowid without-rowid; do
    rm -rf "$work/m"
    "$bin" measure --db "$work/$d.db" --runs 3 --only floor,batched,reads --out "$work/m" --quiet \
      > "$here/$d-$r.txt"
  done
done
