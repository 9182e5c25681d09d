#!/usr/bin/env bash
# What the loadtest harness costs outside the measured ticks (issue 15, item 6), on fleet-100k,
# batched path alone: a cold pass (the generated fleet, one full pass plus two ticks) and a
# warm run (20 warm-up ticks, then 20 measured), RUNS runs of each, alternating the binaries.
# With BASELINE (another reconsim binary, e.g. one built from an earlier commit) each run is
# made with it too, right before this tree's, so the two meet the same machine load.
# Writes results/<UTC time>-harness-cost-100k/: runs.tsv (one line a run: binary, mode, run,
# wall s, ticks s, share outside the ticks, their sum, and the parts of `outside_ticks_s`; a
# part an older binary does not name is 0: its liveness monitor ran inside the ticks, its
# set-up counted as other; then the ticks' own write phase and devices_s / ticks_s), summary.txt
# (medians per binary and mode), and the command lines. One run of both modes takes ~5 min.
# Usage: scripts/harness-cost.sh [RUNS=3] [BASELINE]
set -euo pipefail
runs=${1:-3}; baseline=${2:-}
[ -n "$baseline" ] && baseline=$(realpath "$baseline")
. "$(dirname "$0")/common.sh"
out="results/$stamp-harness-cost-100k"
mkdir -p "$out"
# A copy: a rebuild while the script runs does not change the binary under measurement.
cp "$bin" "$work/reconsim"; bin=$work/reconsim
echo "== generating fleet-100k" >&2
"$bin" generate --scenario scenarios/fleet-100k.toml --db "$work/f.db" --quiet
bins=(); [ -n "$baseline" ] && bins+=("baseline=$baseline"); bins+=("this=$bin")
modes=("cold=" "warm=--warmup-ticks 20 --ticks 20")
printf 'binary\tmode\trun\twall_s\tticks_s\toutside_share\toutside_s\tdevices_s\tchurn_s\tconvergence_check_s\tliveness_s\tcheckpoint_s\tsetup_s\tother_s\twrite_s\tdevices_per_ticks\n' > "$out/runs.tsv"
for r in $(seq 1 "$runs"); do
  for m in "${modes[@]}"; do
    for b in "${bins[@]}"; do
      name=${b%%=*}; exe=${b#*=}; mode=${m%%=*}; flags=${m#*=}
      echo "== run $r, $mode, $name" >&2
      rm -rf "$work/run"
      # shellcheck disable=SC2086
      finding_ok "$exe" loadtest --scenario scenarios/fleet-100k.toml --db "$work/f.db" \
        --paths batched $flags --out "$work/run" --quiet
      python3 - "$work/run/manifest.json" "$name" "$mode" "$r" >> "$out/runs.tsv" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
o = m["outside_ticks_s"]
share = m["outside_ticks_share"]
# wall_s includes the warm-up; the share is of the wall time without it.
measured = sum(o.values()) / share if share > 0 else 0.0
ticks = measured * (1 - share)
# Parts an older binary does not name (liveness inside its ticks, setup inside other): 0.
# The tick's own write phase (summary.json: its mean times its count), inside the ticks: the
# rows the writer changes, each of which the devices then answer with a write of their own.
phases = json.load(open(sys.argv[1].replace("manifest.json", "summary.json")))["phases"]
write = sum(p["stats"]["mean_us"] * p["stats"]["count"] for p in phases
            if p["phase"] == "write") / 1e6
print("\t".join([sys.argv[2], sys.argv[3], sys.argv[4], f"{m['wall_s']:.1f}", f"{ticks:.1f}",
                 f"{share:.3f}", f"{sum(o.values()):.2f}"] + [f"{o.get(k, 0.0):.2f}" for k in
                 ["devices", "churn", "convergence_check", "liveness", "checkpoint", "setup",
                  "other"]] + [f"{write:.2f}", f"{o.get('devices', 0.0) / ticks:.3f}"
                               if ticks > 0 else "0"]))
EOF
    done
  done
done
python3 - "$out/runs.tsv" > "$out/summary.txt" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cols = ["ticks_s", "outside_share", "outside_s", "devices_s", "churn_s", "convergence_check_s",
        "liveness_s", "checkpoint_s", "setup_s", "other_s", "write_s", "devices_per_ticks"]
print("medians over runs (seconds; share of the measured wall time outside the ticks)")
print("binary    mode " + "".join(f"{c:>20}" for c in cols))
for key in sorted({(r["binary"], r["mode"]) for r in rows}):
    sel = [r for r in rows if (r["binary"], r["mode"]) == key]
    vals = [statistics.median(float(r[c]) for r in sel) for c in cols]
    print(f"{key[0]:<9} {key[1]:<4} " + "".join(f"{v:>20.3f}" for v in vals) + f"   ({len(sel)} runs)")
EOF
{ echo "commands (DIR: a scratch folder; the fleet generated with the same binary):"
  echo "  reconsim generate --scenario scenarios/fleet-100k.toml --db f.db --quiet"
  echo "  reconsim loadtest --scenario scenarios/fleet-100k.toml --db f.db --paths batched --out DIR --quiet"
  echo "  reconsim loadtest --scenario scenarios/fleet-100k.toml --db f.db --paths batched --warmup-ticks 20 --ticks 20 --out DIR --quiet"
  echo "binaries: ${bins[*]}"
  echo "this tree: $(git rev-parse HEAD)$(git diff --quiet || echo -dirty)"; } > "$out/README.txt"
cat "$out/summary.txt"
