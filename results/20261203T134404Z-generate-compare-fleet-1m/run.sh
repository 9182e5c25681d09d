#!/usr/bin/env bash
# generate + compare at 1M hosts, one run, nothing else on the machine; the binary of the
# commit named in README.md, built with `cargo build --release`.
# Usage: run.sh OUT_DIR [BIN]
set -u
out=$1; bin=${2:-target/release/reconsim}
work=$(mktemp -d)
printf 'step\twall_s\tpeak_rss_mib\texit\n' > "$out/times.tsv"
/usr/bin/time -f '%e %M' -o "$work/t" "$bin" generate --scenario scenarios/fleet-1m.toml --db "$work/fleet.db" -q > "$out/generate.txt" 2>&1; rc=$?
read -r s kb < <(tail -n1 "$work/t"); printf 'generate\t%s\t%s\t%s\n' "$s" $((kb/1024)) $rc >> "$out/times.tsv"
/usr/bin/time -f '%e %M' -o "$work/t" "$bin" compare --db "$work/fleet.db" --out-dir "$work/cmp" --mmap-mib 0 -q > "$out/compare.txt" 2>&1; rc=$?
read -r s kb < <(tail -n1 "$work/t"); printf 'compare\t%s\t%s\t%s\n' "$s" $((kb/1024)) $rc >> "$out/times.tsv"
ls -la "$work/cmp" | awk '{print $5, $9}' > "$out/compare-files.txt"; wc -l < "$work/cmp/divergences.csv" >> "$out/compare-files.txt"
sha256sum "$work/cmp/divergences.csv" | cut -d' ' -f1 >> "$out/compare-files.txt"
rm -rf "$work"
