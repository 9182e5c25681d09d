#!/usr/bin/env bash
set -u
cd /work/main
bin=$PWD/target/release/reconsim
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=results/$stamp-compare-fleet-1m
mkdir -p "$out"; work=$(mktemp -d)
printf 'step\twall_s\tpeak_rss_mib\texit\n' > "$out/times.tsv"
/usr/bin/time -f '%e %M' -o "$work/t" "$bin" generate --scenario scenarios/fleet-1m.toml --db "$work/fleet.db" -q > "$out/generate.txt" 2>&1; rc=$?
read -r s kb < <(tail -n1 "$work/t"); printf 'generate\t%s\t%s\t%s\n' $s $((kb/1024)) $rc >> "$out/times.tsv"
/usr/bin/time -f '%e %M' -o "$work/t" "$bin" compare --db "$work/fleet.db" --out-dir "$work/cmp" --mmap-mib 0 -q > "$out/compare.txt" 2>&1; rc=$?
read -r s kb < <(tail -n1 "$work/t"); printf 'compare\t%s\t%s\t%s\n' $s $((kb/1024)) $rc >> "$out/times.tsv"
ls -la "$work/cmp" > "$out/compare-files.txt"; wc -l "$work/cmp/divergences.csv" >> "$out/compare-files.txt"
rm -rf "$work"
echo "$out" > /tmp/run1m.done
