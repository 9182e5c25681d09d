#!/usr/bin/env bash
# Kill-and-resume sweep (issue 11): runs a loadtest once uninterrupted, then again N times,
# each killed with SIGKILL at a point spread over the whole run (setup, ticks, result files,
# clean-up) and resumed with `loadtest --resume` until it finishes; every third point kills the
# first resume too, every fifth the second as well (two and three kills in a row). Each
# finished run is checked against the uninterrupted one with `reconsim report identical`
# (timings aside), and for leftovers (`state/`, temp files).
#
# Usage: scripts/kill-resume-sweep.sh [SCENARIO] [TICKS] [POINTS]
#   defaults: scenarios/quick.toml 8 30
# Writes results/<UTC stamp>-kill-sweep-<scenario>/: points.csv (one row per point: kill
# delays in s, kills, resumes, result identical, leftovers, extra wall time in s), summary.txt,
# and the uninterrupted run's manifest.json and summary.csv (baseline/).
set -euo pipefail
source "$(dirname "$0")/common.sh"
# A private copy of the binary: a rebuild while the sweep runs must not change what it tests.
cp "$bin" "$work/reconsim"
bin=$work/reconsim

scenario=${1:-scenarios/quick.toml}
ticks=${2:-8}
points=${3:-30}
name=$(basename "$scenario" .toml)
out=results/$stamp-kill-sweep-$name
mkdir -p "$out"
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }

# The uninterrupted run, three times: the first is the reference, the median wall time the
# yardstick for what kills cost.
walls=()
for r in 1 2 3; do
  t0=$(date +%s.%N)
  "$bin" loadtest --scenario "$scenario" --ticks "$ticks" --out "$work/base-$r" -q
  t1=$(date +%s.%N)
  walls+=("$(calc "$t1 - $t0")")
done
mkdir -p "$out/baseline"
cp "$work/base-1/manifest.json" "$work/base-1/summary.csv" "$out/baseline/"
wall=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n 2p)
echo "uninterrupted run: ${walls[*]} s (median $wall s)"

echo "point,kill_delays_s,kills,resumes,identical,leftovers,extra_s" > "$out/points.csv"
identical=0 differing=0 unresumable=0
for i in $(seq 1 "$points"); do
  run=$work/run-$i
  # Spread over the run: 2 % to 102 % of the uninterrupted wall time (the last points land
  # in the result writing and clean-up, or after the end).
  delay=$(calc "$wall * (0.02 + $i / $points)")
  kills=1
  (( i % 3 == 0 )) && kills=2
  (( i % 5 == 0 )) && kills=3
  "$bin" loadtest --scenario "$scenario" --ticks "$ticks" --out "$run" -q &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  delays=$(printf '%.2f' "$delay")
  resumes=0 ok=yes
  rs=$(date +%s.%N)
  # Further kills: each during a resume, a shorter while after it starts.
  for k in $(seq 2 "$kills"); do
    d=$(calc "$wall * 0.1 * $k")
    "$bin" loadtest --resume "$run" -q 2>/dev/null &
    pid=$!
    sleep "$d"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    resumes=$((resumes + 1))
    delays="$delays;$(printf '%.2f' "$d")"
  done
  if [ -d "$run" ]; then
    if ! "$bin" loadtest --resume "$run" -q 2> "$work/err"; then
      ok=no
      echo "point $i: resume failed: $(cat "$work/err")"
    fi
    resumes=$((resumes + 1))
  else
    # Killed before the run folder existed: the run never began; start it again.
    "$bin" loadtest --scenario "$scenario" --ticks "$ticks" --out "$run" -q
  fi
  re=$(date +%s.%N)
  # What the kills cost: wall time until the first kill plus everything after it, less the
  # uninterrupted run's.
  extra=$(calc "$delay + $re - $rs - $wall")
  same=no
  if [ "$ok" = yes ] && "$bin" report identical "$work/base-1" "$run" > "$work/same" 2>&1; then
    same=yes
  elif [ "$ok" = yes ]; then
    echo "point $i: differs: $(head -3 "$work/same")"
  fi
  left=$(find "$run" -name 'state' -o -name '.state-done' -o -name '*.tmp-*' -o -name '.reconsim.lock' | wc -l)
  echo "$i,$delays,$kills,$resumes,$same,$left,$(printf '%.2f' "$extra")" >> "$out/points.csv"
  if [ "$ok" = no ]; then
    unresumable=$((unresumable + 1))
  elif [ "$same" = yes ] && [ "$left" -eq 0 ]; then
    identical=$((identical + 1))
  else
    differing=$((differing + 1))
  fi
  rm -rf "$run"
done

{
  echo "kill-and-resume sweep: $scenario, $ticks ticks, $points points"
  echo "command: scripts/kill-resume-sweep.sh $scenario $ticks $points"
  echo "uninterrupted wall time: ${walls[*]} s (median $wall s)"
  echo "identical and clean: $identical; differing or leftovers: $differing; unresumable: $unresumable"
  echo "median extra wall time of a killed and resumed run (kills before the end): $(awk -F, -v w="$wall" 'NR > 1 { split($2, d, ";"); if (d[1] < w) print $7 }' "$out/points.csv" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }') s"
} | tee "$out/summary.txt"
[ "$differing" -eq 0 ] && [ "$unresumable" -eq 0 ]
