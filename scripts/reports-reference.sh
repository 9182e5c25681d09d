#!/usr/bin/env bash
# The report figures of results/README.md (issue 12), into results/<UTC time>-reports/:
#  - quick, both paths, 10 ticks, three times: report.html of the first rendered in headless
#    Chromium (quick/report.png); `report compare` of every ordered pair of the three, and of
#    two baselines against the third (compare-*.txt; all must exit 0: same commit, same seed);
#  - quick with four times the hosts, judged against the three (compare-bigger.txt: exit 1,
#    the legacy tick regressed);
#  - b1 without its [expect] section: a failing run (exit 1), its page rendered (b1/report.png);
#  - fleet-10k, both paths, 10 ticks: its page rendered (fleet-10k/report.png).
# Usage: scripts/reports-reference.sh. About 4 minutes on 2 cores.
set -euo pipefail
. "$(dirname "$0")/common.sh"
r="results/$stamp-reports"
mkdir -p "$r"

for i in 1 2 3; do
  echo "== quick run $i" >&2
  "$bin" loadtest --scenario scenarios/quick.toml --ticks 10 --out "$r/quick-$i" --quiet
done
scripts/screenshot.sh "$r/quick-1"
status=0
for a in 1 2 3; do
  for b in 1 2 3; do
    [ "$a" = "$b" ] && continue
    code=0
    "$bin" report compare "$r/quick-$a" "$r/quick-$b" > "$r/compare-$a-$b.txt" || code=$?
    echo "report compare quick-$a quick-$b: exit $code" | tee -a "$r/summary.txt"
    [ "$code" = 0 ] || status=1
  done
done
code=0
"$bin" report compare "$r/quick-1" "$r/quick-2" "$r/quick-3" > "$r/compare-12-3.txt" || code=$?
echo "report compare quick-1 quick-2 quick-3: exit $code" | tee -a "$r/summary.txt"
[ "$code" = 0 ] || status=1

echo "== quick with 8,000 hosts" >&2
sed 's/^count = 2000 /count = 8000 /' scenarios/quick.toml > "$work/bigger.toml"
"$bin" loadtest --scenario "$work/bigger.toml" --ticks 10 --out "$r/quick-bigger" --quiet
code=0
"$bin" report compare "$r/quick-1" "$r/quick-2" "$r/quick-3" "$r/quick-bigger" \
  > "$r/compare-bigger.txt" || code=$?
echo "report compare quick-1 quick-2 quick-3 quick-bigger: exit $code (expected 1)" \
  | tee -a "$r/summary.txt"
[ "$code" = 1 ] || status=1

echo "== b1 without [expect]" >&2
sed '/^\[expect\]/,$d' scenarios/bugs/b1.toml > "$work/b1.toml"
code=0
"$bin" loadtest --scenario "$work/b1.toml" --out "$r/b1" > "$r/b1-stdout.txt" || code=$?
echo "loadtest b1 without [expect]: exit $code (expected 1)" | tee -a "$r/summary.txt"
[ "$code" = 1 ] || status=1
scripts/screenshot.sh "$r/b1"

echo "== fleet-10k" >&2
"$bin" loadtest --scenario scenarios/fleet-10k.toml --ticks 10 --out "$r/fleet-10k" \
  > "$r/fleet-10k-stdout.txt" || [ $? -eq 1 ]
scripts/screenshot.sh "$r/fleet-10k"
# The databases stay out of the repository; the pages, CSVs and summaries are the record.
find "$r" -name '*.db' -delete
echo "wrote $r (status $status)" >&2
exit $status
