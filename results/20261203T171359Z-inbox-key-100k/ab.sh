#!/usr/bin/env bash
# A/B of two binaries, warm loadtest on fleet-100k, alternating.
set -euo pipefail
out=$1; shift
run=$(mktemp -d)/run
printf 'binary\trun\twall_s\tshare\toutside_s\tdevices\tsetup\tchurn\tcheckpoint\tliveness\tconvergence_check\tother\n' > "$out"
for r in 1 2; do
  for b in "$@"; do
    rm -rf "$run"
    ./$b loadtest --scenario "${SCENARIO:-scenarios/fleet-100k.toml}" --db f.db --paths batched --warmup-ticks 20 --ticks 20 --out "$run" --quiet || [ $? -eq 1 ]
    python3 - "$run"/manifest.json $b $r >> "$out" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); o = m["outside_ticks_s"]
print("\t".join([sys.argv[2], sys.argv[3], f"{m['wall_s']:.1f}", f"{m['outside_ticks_share']:.3f}", f"{sum(o.values()):.2f}"] + [f"{o.get(k,0):.2f}" for k in ["devices","setup","churn","checkpoint","liveness","convergence_check","other"]]))
PY
  done
done
