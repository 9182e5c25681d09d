#!/usr/bin/env bash
# Before/after on one fleet-100k file, interleaved: OLD = main at 15488ce, NEW = this change.
set -u
db=/tmp/s15/f100k.db; out=$1; old=/tmp/oldtarget/release/reconsim; new=/work/main/target/release/reconsim
mkdir -p "$out"
printf 'binary\trun\tstep\twall_s\tpeak_rss_mib\texit\n' > "$out/times.tsv"
for i in 1 2 3; do
  for b in old new; do
    bin=$old; [ $b = new ] && bin=$new
    /usr/bin/time -f '%e %M' -o "$out/t" "$bin" compare --db "$db" --out-dir "$out/tmp-$b" -q > "$out/compare-$b-$i.txt"; rc=$?
    read -r s kb < <(tail -n1 "$out/t"); printf '%s\t%s\tcompare\t%s\t%s\t%s\n' $b $i $s $((kb/1024)) $rc >> "$out/times.tsv"
  done
done
cmp "$out/tmp-old/divergences.csv" "$out/tmp-new/divergences.csv" && echo "divergences.csv: byte-identical" > "$out/divergences-identical.txt"
rm -rf "$out/tmp-old" "$out/tmp-new" "$out/t"
for b in old new; do
  bin=$old; [ $b = new ] && bin=$new
  "$bin" measure --db "$db" --runs 3 -q --only floor,batched,legacy --out "$out/measure-$b" > "$out/measure-$b.txt" 2>&1
done
