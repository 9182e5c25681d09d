#!/bin/bash
# generate -q at 1M: this change's final binary (index cache by fleet size), then a53b059's.
out=$1
printf 'binary\twall_s\tpeak_rss_mib\texit\n' > "$out/generate-ab2.tsv"
for b in new2 base; do
  /usr/bin/time -f '%e %M' -o /tmp/s20/t1m /tmp/s20/reconsim.$b generate --scenario scenarios/fleet-1m.toml --db /tmp/s20/g1m.db --force -q; rc=$?
  read -r s kb < /tmp/s20/t1m; printf '%s\t%s\t%s\t%s\n' $b "$s" $((kb/1024)) $rc >> "$out/generate-ab2.tsv"
done
rm -f /tmp/s20/g1m.db
echo done
