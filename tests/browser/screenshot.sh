#!/usr/bin/env bash
# Renders an HTML file to a PNG with headless Chromium: screenshot.sh IN.html OUT.png
set -euo pipefail
in=$(realpath "$1"); out=$2
browser=$(command -v chromium || command -v chromium-browser)
prof=$(mktemp -d)
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$prof" --window-size=1200,2400 --screenshot="$out" "file://$in" 2>/dev/null
rm -rf "$prof"
