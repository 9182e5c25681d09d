#!/bin/bash
# generate -q at 1M: the a53b059 binary, then this tree's, back to back.
out=$1
printf 'binary\twall_s\tpeak_rss_mib\texit\n' > "$out/generate-ab.tsv"
for b in base new; do
  /usr/bin/time -f '%e %M' -o /tmp/s20/t1m /tmp/s20/reconsim.$b generate --scenario scenarios/fleet-1m.toml --db /tmp/s20/g1m.db --force -q; rc=$?
  read -r s kb < /tmp/s20/t1m; printf '%s\t%s\t%s\t%s\n' $b "$s" $((kb/1024)) $rc >> "$out/generate-ab.tsv"
  sha256sum /tmp/s20/g1m.db | cut -c1-64 >> "$out/generate-ab.sha"
done
rm -f /tmp/s20/g1m.db
