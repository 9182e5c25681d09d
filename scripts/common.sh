# Sourced by the reference scripts (not run on its own): the repository root as working
# directory, the release binary in $bin, a scratch directory $work removed on exit, and the
# UTC stamp every results folder of the run is named with.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet
bin=$PWD/target/release/reconsim
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stamp=$(date -u +%Y%m%dT%H%M%SZ)
