#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium and saves report.png beside it: the check
# that the page is self-contained and draws (no network: Chromium runs with networking off).
# Usage: scripts/screenshot.sh RUN_DIR. Needs /usr/bin/chromium (Debian package `chromium`;
# installed here when missing and running as root).
set -euo pipefail
dir=${1:?usage: scripts/screenshot.sh RUN_DIR}
[ -f "$dir/report.html" ] || { echo "error: $dir/report.html not found" >&2; exit 2; }
if ! command -v chromium > /dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
  else
    echo "error: chromium is not installed (apt-get install chromium)" >&2
    exit 2
  fi
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
page="file://$(cd "$dir" && pwd)/report.html"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1040,3600 \
  --screenshot="$profile/report.png" "$page" 2> /dev/null
# Written in the scratch folder first, then moved into place.
mv "$profile/report.png" "$dir/report.png"
echo "wrote $dir/report.png" >&2
