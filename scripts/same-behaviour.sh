#!/usr/bin/env bash
# Shows that a refactoring changed no behaviour: builds REV (default: the parent of the first
# refactoring commit, 0e4c3ca) in a scratch worktree and runs both binaries on the same inputs:
# `generate` (byte-identical database files), `diff` of each path and `compare` on quick and
# fleet-10k (byte-identical files), and a loadtest of quick and of fleet-10k (6 ticks) checked with `report identical` (timings aside).
# When the database files differ, their contents are compared too (every table's rows with their
# rowids, through Python's sqlite3): `same contents` means only the page layout moved.
# Usage: scripts/same-behaviour.sh [REV]; OLD_BIN=PATH uses that binary of REV instead of
# building it. Prints one line per check; exit 1 if any differs.
set -euo pipefail
rev=${1:-0e4c3ca}
. "$(dirname "$0")/common.sh"
if [ -n "${OLD_BIN:-}" ]; then
  old=$OLD_BIN
else
  git worktree add --detach "$work/old" "$rev" > /dev/null 2>&1
  trap 'git worktree remove --force "$work/old" > /dev/null 2>&1; rm -rf "$work"' EXIT
  echo "== building $rev" >&2
  (cd "$work/old" && CARGO_TARGET_DIR="$work/target" cargo build --release --quiet)
  old="$work/target/release/reconsim"
fi
status=0
check() { # check NAME A B: byte-identical files
  if cmp -s "$2" "$3"; then echo "same: $1"; else echo "DIFFERENT: $1"; status=1; fi
}
for s in quick fleet-10k; do
  "$old" generate --scenario "scenarios/$s.toml" --db "$work/$s-old.db" --force --quiet
  "$bin" generate --scenario "scenarios/$s.toml" --db "$work/$s.db" --force --quiet
  if cmp -s "$work/$s-old.db" "$work/$s.db"; then
    echo "same: $s generate (database file)"
  elif python3 - "$work/$s-old.db" "$work/$s.db" <<'PY'
import hashlib, sqlite3, sys
def digest(path):
    c = sqlite3.connect(path)
    out = {}
    for (t, wr) in c.execute("SELECT name, sql LIKE '%WITHOUT ROWID%' FROM sqlite_master "
                             "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"):
        h = hashlib.sha256()
        cols = "*" if wr else "rowid, *"
        for row in c.execute(f'SELECT {cols} FROM "{t}" ORDER BY 1, 2'):
            h.update(repr(row).encode())
        out[t] = h.hexdigest()
    return out
sys.exit(0 if digest(sys.argv[1]) == digest(sys.argv[2]) else 1)
PY
  then
    echo "same: $s generate (contents and rowids of every table; the file's page layout differs)"
  else
    echo "DIFFERENT: $s generate (database file)"; status=1
  fi
  for p in legacy batched; do
    "$old" diff --db "$work/$s.db" --path "$p" --out "$work/$s-$p-old.csv"
    "$bin" diff --db "$work/$s.db" --path "$p" --out "$work/$s-$p-new.csv"
    check "$s diff --path $p" "$work/$s-$p-old.csv" "$work/$s-$p-new.csv"
  done
  "$old" compare --db "$work/$s.db" --out "$work/$s-cmp-old" > /dev/null || [ $? -eq 1 ]
  "$bin" compare --db "$work/$s.db" --out "$work/$s-cmp-new" > /dev/null || [ $? -eq 1 ]
  check "$s compare: divergences.csv" "$work/$s-cmp-old/divergences.csv" "$work/$s-cmp-new/divergences.csv"
  "$old" loadtest --scenario "scenarios/$s.toml" --db "$work/$s.db" --ticks 6 --out "$work/$s-lt-old" --quiet || [ $? -eq 1 ]
  "$bin" loadtest --scenario "scenarios/$s.toml" --db "$work/$s.db" --ticks 6 --out "$work/$s-lt-new" --quiet || [ $? -eq 1 ]
  if "$bin" report identical "$work/$s-lt-old" "$work/$s-lt-new" > "$work/id.txt"; then
    echo "same: $s loadtest (report identical)"
  else
    echo "DIFFERENT: $s loadtest:"; cat "$work/id.txt"; status=1
  fi
done
exit $status
