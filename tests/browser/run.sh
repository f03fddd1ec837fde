#!/usr/bin/env bash
# The report in a real browser: build a repository with history through the demo,
# render its report, load it in headless Chromium, and check the DOM the browser
# built: the decision comes first, every chart has data points, labelled time and value
# axes, the healthy level, and deploy/rollback markers linking to existing rows.
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
def pos(marker):
    i = dom.find(marker)
    return i if i >= 0 else len(dom) + 1
figures = re.findall(r'<figure class="chart".*?</figure>', dom, re.S)
hrefs = re.findall(r'<a class="(?:deploy|rollback)" href="#([^"]+)"', dom)
rows = set(re.findall(r'<tr id="([^"]+)"', dom))
decisions = dom[pos('id="decisions"'):pos('id="watched"')]
checks = {
    "page rendered (overall health shown)": 'id="overall"' in dom and "Health:" in dom,
    "generated-at time shown": re.search(r'id="generated">Generated <time datetime="[0-9T:Z-]+">', dom) is not None,
    "decisions, then watched, then charts, then tables":
        pos('id="decisions"') < pos('id="watched"') < pos('id="metrics"') < pos('id="deployments"'),
    "the waiting proposal with its commands": re.search(r'improve approve P-\d+ --by NAME', decisions) is not None
        and "improve reject" in decisions and "git merge --no-ff improve/proposal/" in decisions,
    "charts present": len(charts) >= 3,
    "every chart has data": all(int(n) >= 2 for _, n in charts) and all(len(p.split()) >= 2 for p in polys),
    "every chart has a labelled time axis": all(len(re.findall(r'class="xtick"[^>]*>\d\d:\d\d<', f)) >= 2 for f in figures),
    "every chart has a labelled value axis": all(len(re.findall(r'class="ytick"[^>]*>[\d.]+<', f)) >= 2 for f in figures),
    "every chart shows the healthy level": all('class="healthy-label"' in f and "healthy " in f for f in figures),
    "deploy markers drawn": 'class="deploy"' in dom,
    "rollback markers drawn": 'class="rollback"' in dom,
    "markers are labelled links to existing rows": len(hrefs) >= 3 and all(h in rows for h in hrefs)
        and len(re.findall(r'class="marker-label"', dom)) == len(hrefs),
    "no script": "<script" not in dom,
    "screenshot written": os.path.getsize(sys.argv[2]) > 10000,
}
for name, ok in checks.items():
    print(("ok  " if ok else "FAIL"), name)
print(f"browser: {len(charts)} charts, {sum(int(n) for _, n in charts)} points; {sum(checks.values())} passed, {len(checks) - sum(checks.values())} failed")
sys.exit(0 if all(checks.values()) else 1)
PY
