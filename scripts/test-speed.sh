#!/usr/bin/env bash
# The README's test command (`cargo test`) timed under three dev-profile settings for the
# dependencies: `none` (all at opt-level 0), `sqlite` (only the bundled SQLite, crate
# libsqlite3-sys, at opt-level 2) and `all` (`[profile.dev.package."*"] opt-level = 2`). Each
# from an empty target directory, the build and the run timed apart. Writes
# results/STAMP-test-speed/{runs.csv,summary.txt}.
# Usage: scripts/test-speed.sh [RUNS] (default 1; each run builds three times from scratch,
# about 20 minutes on 2 cores).
set -euo pipefail
runs=${1:-1}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=results/$stamp-test-speed
mkdir -p "$out"
echo "run,profile,build_s,test_s" > "$out/runs.csv"
modes="none sqlite all"
for mode in $modes; do
  git archive HEAD | tar -x -C "$work" --one-top-level=$mode
  # Every dev-profile override of the dependencies removed, then the mode's one added.
  python3 - "$work/$mode/Cargo.toml" "$mode" <<'PY'
import sys, re
p, mode = sys.argv[1], sys.argv[2]
s = open(p).read()
s = re.sub(r'(#[^\n]*\n)*\[profile\.dev\.package\.[^\]]+\]\nopt-level = \d+\n', '', s)
assert 'profile.dev.package' not in s
if mode == 'sqlite':
    s += '\n[profile.dev.package.libsqlite3-sys]\nopt-level = 2\n'
if mode == 'all':
    s += '\n[profile.dev.package."*"]\nopt-level = 2\n'
open(p, 'w').write(s)
PY
done
secs() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$1" "$2"; }
for i in $(seq 1 "$runs"); do
  for mode in $modes; do
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
