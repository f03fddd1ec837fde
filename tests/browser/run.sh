#!/usr/bin/env bash
# The report in a real browser: build a repository with history through the demo,
# render its report, load it in headless Chromium, and check the DOM the browser
# built: the page rendered, every chart has data points, deploy markers are drawn.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/browser-test
rm -rf "$out"; mkdir -p "$out"
cargo build -q
bin=target/debug/improve
"$bin" -q demo "$out/system" >/dev/null
"$bin" --repo "$out/system" report --html "$out/report.html" >/dev/null
browser=$(command -v chromium || command -v chromium-browser)
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$out/profile")
"$browser" "${flags[@]}" --dump-dom "file://$PWD/$out/report.html" > "$out/dom.html" 2>"$out/chromium.log"
"$browser" "${flags[@]}" --window-size=1200,2400 --screenshot="$out/report.png" "file://$PWD/$out/report.html" >/dev/null 2>>"$out/chromium.log"
python3 - "$out/dom.html" "$out/report.png" <<'PY'
import re, sys, os
dom = open(sys.argv[1]).read()
charts = re.findall(r'data-metric="([^"]+)" data-points="(\d+)"', dom)
polys = re.findall(r'<polyline[^>]*points="([^"]*)"', dom)
checks = {
    "page rendered (overall health shown)": 'id="overall"' in dom and "Health:" in dom,
    "charts present": len(charts) >= 3,
    "every chart has data": all(int(n) >= 2 for _, n in charts) and all(len(p.split()) >= 2 for p in polys),
    "deploy markers drawn": 'class="deploy"' in dom,
    "rollback markers drawn": 'class="rollback"' in dom,
    "screenshot written": os.path.getsize(sys.argv[2]) > 10000,
}
for name, ok in checks.items():
    print(("ok  " if ok else "FAIL"), name)
print(f"browser: {len(charts)} charts, {sum(int(n) for _, n in charts)} points; {sum(checks.values())} passed, {len(checks) - sum(checks.values())} failed")
sys.exit(0 if all(checks.values()) else 1)
PY
