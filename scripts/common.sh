# Sourced by the reference scripts (not run on its own): the repository root as working
# directory, the release binary in $bin, a scratch directory $work removed on exit, and the
# UTC stamp every results folder of the run is named with.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet
bin=$PWD/target/release/reconsim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stamp=$(date -u +%Y%m%dT%H%M%SZ)

# Runs a command whose exit 1 is a finding (a verdict that fails, a divergence: its results are
# written all the same), not an error: only exit 2 and above stop the script.
finding_ok() { "$@" || [ $? -eq 1 ]; }

# The process's peak RSS in MiB from a loadtest run folder's manifest.json. A loadtest resets
# the kernel's peak counter before every tick (each path's ticks get their own peak), so
# /usr/bin/time's %M, which reads that counter, misses the set-up and the harness; the manifest
# keeps the peak across the resets ("n/a" in runs without it).
manifest_peak_mib() {
  local k
  k=$(sed -n 's/.*"process_peak_rss_kib": \([0-9]*\).*/\1/p' "$1/manifest.json" 2>/dev/null)
  if [ -n "$k" ]; then echo "$((k / 1024))"; else echo "n/a"; fi
}

# Samples process PID's memory every second until it exits, into FILE: seconds since the start,
# then VmRSS, RssAnon, RssFile and VmHWM from /proc/PID/status (KiB). The kernel's peak
# (VmHWM, what /usr/bin/time and a manifest report) counts memory-mapped file pages; RssAnon is
# the process's own memory, RssFile the mapped pages (the OS's file cache). Run it in the
# background beside the process.
sample_rss() {
  local pid=$1 file=$2 t=0
  echo "t_s vmrss_kib rssanon_kib rssfile_kib vmhwm_kib" > "$file"
  while [ -r "/proc/$pid/status" ]; do
    awk -v t="$t" '/^(VmRSS|RssAnon|RssFile|VmHWM):/ {v[$1] = $2}
      END {if (v["VmRSS:"] != "") print t, v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["VmHWM:"]}' \
      "/proc/$pid/status" >> "$file" 2>/dev/null || true
    sleep 1
    t=$((t + 1))
  done
}

# The largest value of column COL (1-based) of a sample_rss FILE, in MiB.
rss_max_mib() { awk -v c="$2" 'NR > 1 && $c > m {m = $c} END {print int(m / 1024)}' "$1"; }

# The median of the numbers on stdin, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# The header of an A/B benchmark's summary.txt: scenario, runs, this tree, baseline, machine.
bench_header() {
  echo "scenario: $1"
  echo "runs: $2"
  echo "this tree: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)"
  if [ -n "$3" ]; then echo "baseline: $3"; fi
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
}

# A new results folder $out = results/$stamp-NAME (refused if it exists).
new_out() {
  out="results/$stamp-$1"
  if [ -e "$out" ]; then echo "$out exists" >&2; exit 2; fi
  mkdir -p "$out"
}

# The arguments of an A/B benchmark, [SCENARIO] [RUNS=3] [BASELINE] (DEFAULT when no scenario
# is given): sets scenario, runs, baseline, name (the scenario file's name without .toml) and db
# (the scratch fleet, $work/fleet.db), and creates the output folder $out = results/$stamp-WHAT-$name.
# Usage: ab_args WHAT DEFAULT "$@"
ab_args() {
  local what=$1 default=$2
  shift 2
  scenario=${1:-$default}
  runs=${2:-3}
  baseline=${3:-}
  name=$(basename "$scenario" .toml)
  db=$work/fleet.db
  new_out "$what-$name"
}

# The binaries of an A/B run, copied into $work so that a build during the runs changes nothing
# measured: `this` (the release build) and, given a BASELINE binary, `baseline` before it.
ab_binaries() {
  cp target/release/reconsim "$work/this"
  binaries=(this)
  if [ -n "$1" ]; then
    cp "$1" "$work/baseline"
    binaries=(baseline this)
  fi
}
