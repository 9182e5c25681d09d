#!/usr/bin/env bash
# The issue-5 figures of results/README.md, into results/<UTC time>-bugs/:
#  - repro.txt: `reconsim repro` of every catalog entry (evidence, REPRODUCED or not, B6 counts);
#  - mutants.csv: `compare --align-with-legacy` on the edge-case fleet, unmutated and with each
#    mutant: unexplained pairs and the liveness line;
#  - shrink.txt: `shrink --class D1` of the edge-case fleet (rows before and after, wall time),
#    with the minimal repro.sql beside it.
# Usage: scripts/bugs-reference.sh. Under a minute.
set -euo pipefail
. "$(dirname "$0")/common.sh"
out="results/$stamp-bugs"
mkdir -p "$out"

for name in $("$bin" repro --list | awk '{print $1}'); do
  code=0
  "$bin" repro "$name" >> "$out/repro.txt" || code=$?
  [ "$code" -le 1 ] || exit "$code"
  echo >> "$out/repro.txt"
done

"$bin" generate --scenario scenarios/edge-cases.toml --db "$work/e.db" --force --quiet
echo "mutant,unexplained,liveness" > "$out/mutants.csv"
for m in none window-off-by-one cursor-ge no-broken-check timing-le any-as-all; do
  extra=(); [ "$m" = none ] || extra=(--mutate "$m")
  code=0
  "$bin" compare --db "$work/e.db" --align-with-legacy --quiet --out-dir "$work/c" "${extra[@]}" \
    > "$work/s.txt" || code=$?
  [ "$code" -le 1 ] || exit "$code"
  unexplained=$(awk '$1 == "unexplained" {print $2}' "$work/s.txt")
  liveness=$(sed -n 's/^liveness: //p' "$work/s.txt" | tr ',' ';')
  echo "$m,${unexplained:-0},\"$liveness\"" >> "$out/mutants.csv"
done

/usr/bin/time -f 'wall %e s' -o "$work/t" "$bin" shrink --db "$work/e.db" --class D1 \
  --out-dir "$work/shrink" --quiet > "$out/shrink.txt"
cat "$work/t" >> "$out/shrink.txt"
cp "$work/shrink/repro.sql" "$work/shrink/repro.toml" "$out/"
cat "$out/mutants.csv" "$out/shrink.txt"
echo "wrote $out" >&2
