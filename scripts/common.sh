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
