#!/usr/bin/env bash
# Times `reconsim generate` on a scenario several times and writes the runs to
# results/<UTC time>-generate-<scenario>/: runs.csv (one row per run), summary.txt (medians)
# and floor.txt (what SQLite itself takes for the same rows, below).
# Usage: scripts/bench-generate.sh [SCENARIO=scenarios/fleet-100k.toml] [RUNS=3] [BASELINE]
# BASELINE: another reconsim binary; each run then generates with it and with this tree's
# binary in turn (`binary` column: baseline, this), so their ratio is measured in one run.
# The floor (needs Debian's sqlite3): the last run's tables copied row by row into a new file
# with the generator's load pragmas (INSERT ... SELECT in key order, rowids kept; the copy
# also reads the source, so it is an upper bound on SQLite's own insert work), then Fleet's
# secondary indexes created and ANALYZE run there, as the generator does.
set -euo pipefail
. "$(dirname "$0")/common.sh"
ab_args generate scenarios/fleet-100k.toml "$@"
ab_binaries "$baseline"
echo "run,wall_s,rows,rows_per_s,peak_rss_mib,build_s,insert_s,index_s,analyze_s,binary" > "$out/runs.csv.tmp"
for i in $(seq 1 "$runs"); do
  for b in "${binaries[@]}"; do
    # The last run's gigabyte is written back first, not while this run writes its own.
    sync
    /usr/bin/time -f '%M' -o "$work/rss" "$work/$b" generate --scenario "$scenario" --db "$db" \
      --force > "$work/stdout"
    line=$(head -n 1 "$work/stdout")
    # generated DB (scenario S, seed N, H hosts): R rows in T s (X rows/s; build a s, insert b s, index c s, analyze d s)
    rows=$(sed -E 's/.*: ([0-9]+) rows in.*/\1/' <<<"$line")
    secs=$(sed -E 's/.* rows in ([0-9.]+) s.*/\1/' <<<"$line")
    rps=$(sed -E 's/.*\(([0-9]+) rows\/s.*/\1/' <<<"$line")
    parts=$(sed -E 's/.*build ([0-9.]+) s, insert ([0-9.]+) s, index ([0-9.]+) s, analyze ([0-9.]+) s.*/\1,\2,\3,\4/' <<<"$line")
    rss=$(( $(cat "$work/rss") / 1024 ))
    echo "$i,$secs,$rows,$rps,$rss,$parts,$b" >> "$out/runs.csv.tmp"
    sha256sum "$db" | sed "s|$db|run $i $b|" >> "$work/hashes"
    echo "run $i ($b): $line (peak RSS $rss MiB)" >&2
  done
done
tail -n +2 "$work/stdout" > "$out/fleet-summary.txt"
mv "$out/runs.csv.tmp" "$out/runs.csv"
{
  bench_header "$scenario" "$runs" "$baseline"
  for b in "${binaries[@]}"; do
    sel() { awk -F, -v b="$b" -v c="$1" 'NR > 1 && $10 == b {print $c}' "$out/runs.csv"; }
    echo "$b: median seconds $(sel 2 | median), rows/s $(sel 4 | median), peak RSS MiB $(sel 5 | median); insert $(sel 7 | median) s, index $(sel 8 | median) s, analyze $(sel 9 | median) s"
  done
  echo "distinct database files: $(awk '{print $1}' "$work/hashes" | sort -u | wc -l) (1 = every run wrote the same bytes)"
} > "$out/summary.txt"

if command -v sqlite3 >/dev/null; then
  floor=$work/floor.db
  {
    echo "PRAGMA page_size = 16384; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
    echo "PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -262144; PRAGMA temp_store = FILE;"
    echo "PRAGMA threads = 2;"
    sqlite3 "$db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'table'
                   AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    echo "ATTACH '$db' AS g;"
    echo ".timer on"
    echo "BEGIN;"
    sqlite3 "$db" "SELECT name, sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE type = 'table'
                   AND name NOT LIKE 'sqlite_%' ORDER BY rowid" |
      while IFS='|' read -r t norowid; do
        cols=$(sqlite3 "$db" "SELECT group_concat(name, ', ') FROM pragma_table_info('$t')")
        rid=rowid,
        [ "$norowid" = 1 ] && rid=
        echo "INSERT INTO main.$t ($rid $cols) SELECT $rid $cols FROM g.$t WHERE 1;"
      done
    echo "COMMIT;"
    echo "PRAGMA cache_size = -8192;"
    sqlite3 "$db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    echo "ANALYZE;"
  } > "$work/floor.sql"
  # The same script on Debian's sqlite3 and on the library reconsim bundles (scripts/sql_timer.rs,
  # the shell's timer lines), each into a new file.
  cargo build --release --quiet --example sql_timer
  cp target/release/examples/sql_timer "$work/sql_timer"
  ntables=$(grep -c '^INSERT INTO main' "$work/floor.sql")
  nindex=$(grep -c '^CREATE INDEX' "$work/floor.sql")
  : > "$out/floor.txt"
  for runner in debian bundled; do
    rm -f "$floor"
    sync
    if [ "$runner" = debian ]; then
      sqlite3 "$floor" < "$work/floor.sql" > "$work/floor.out"
      label="sqlite3 $(sqlite3 --version | cut -d' ' -f1) (Debian's shell)"
    else
      "$work/sql_timer" "$floor" < "$work/floor.sql" > "$work/floor.out"
      label="SQLite $("$work/sql_timer" --version) (the library reconsim bundles, scripts/sql_timer.rs)"
    fi
    secs() { grep -o 'real [0-9.]*' "$work/floor.out" | awk '{print $2}'; }
    # Timer lines follow every statement after `.timer on`: BEGIN, the inserts, COMMIT, the
    # cache pragma, the indexes, ANALYZE.
    mapfile -t t < <(secs)
    sum() { awk '{s += $1} END {printf "%.2f", s}'; }
    ins=$(printf '%s\n' "${t[@]:1:$ntables}" | sum)
    idx=$(printf '%s\n' "${t[@]:$((ntables + 3)):$nindex}" | sum)
    ana=${t[$((ntables + 3 + nindex))]}
    {
      echo "$label"
      echo "copy every table row by row (INSERT ... SELECT): $ins s"
      echo "create the $nindex secondary indexes: $idx s"
      echo "ANALYZE: $ana s"
      echo "floor total: $(echo "$ins $idx $ana" | awk '{printf "%.2f", $1 + $2 + $3}') s for $rows rows"
    } >> "$out/floor.txt"
  done
  cat "$out/floor.txt" >> "$out/summary.txt"
else
  echo "no floor: sqlite3 not found (Debian: apt-get install sqlite3)" | tee -a "$out/summary.txt" >&2
fi
cat "$out/summary.txt"
echo "wrote $out" >&2
