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
