#!/usr/bin/env bash
# The README's test command (`cargo test`) timed with and without the dev profile's
# `[profile.dev.package."*"] opt-level = 2` (dependencies, the bundled SQLite above all,
# optimised in test builds): each from an empty target directory, the build and the run timed
# apart. Writes results/STAMP-test-speed/{runs.csv,summary.txt}.
# Usage: scripts/test-speed.sh [RUNS] (default 1; each run builds twice from scratch, ~20 min).
set -euo pipefail
runs=${1:-1}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=results/$stamp-test-speed
mkdir -p "$out"
echo "run,profile,build_s,test_s" > "$out/runs.csv"
git archive HEAD | tar -x -C "$work" --one-top-level=with
git archive HEAD | tar -x -C "$work" --one-top-level=without
# Without: the profile section and its comment removed.
python3 - "$work/without/Cargo.toml" <<'PY'
import sys, re
p = sys.argv[1]
s = open(p).read()
s = re.sub(r'(#[^\n]*\n)*\[profile\.dev\.package\."\*"\]\nopt-level = \d+\n', '', s)
assert 'profile.dev.package' not in s
open(p, 'w').write(s)
PY
secs() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$1" "$2"; }
for i in $(seq 1 "$runs"); do
  for mode in without with; do
    echo "== run $i: $mode" >&2
    (
      cd "$work/$mode"
      export CARGO_TARGET_DIR="$work/$mode/target"
      rm -rf "$CARGO_TARGET_DIR"
      t0=$(date +%s.%N)
      cargo test --no-run --quiet 2> /dev/null
      t1=$(date +%s.%N)
      cargo test --quiet > "$work/$mode-test.log" 2>&1
      t2=$(date +%s.%N)
      echo "$i,$mode,$(secs "$t0" "$t1"),$(secs "$t1" "$t2")"
    ) >> "$out/runs.csv"
  done
done
{
  echo "cargo test, commit $(git rev-parse --short HEAD), $(nproc) CPUs, $runs run(s) of each"
  echo "(build: cargo test --no-run from an empty target directory; test: cargo test after it)"
  echo
  column -s, -t < "$out/runs.csv"
} > "$out/summary.txt"
cat "$out/summary.txt"
