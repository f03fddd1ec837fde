#!/usr/bin/env bash
# Benchmark of the OBSERVE phase ("observe a gigabyte in seconds"): generates mind
# traversal logs, then measures improve observe, a Python json-module script, a jq
# pipeline and `wc -l` (the floor) on the same files, checks that the three compute
# the same aggregates (exit 1 if not), and measures an incremental run after 1% new
# data (the real cycle's work: cursor load, discovery, reading the new bytes, cursor
# save; median of 3) and peak RSS at two sizes; then the record-keeping half of a cycle
# on a 10,000-record history (examples/bench_records.rs: audit verify, health, library
# search, each < 1 s), and drift over long metric histories (examples/bench_drift.rs:
# the whole history against the bounded window). Results: bench/out/results.md. Exit 1
# if a check fails.
#
# usage: bench/run.sh [SIZE_MB]   (default: $BENCH_MB, else 1024; e.g. 64 for a quick run)
set -euo pipefail

SIZE_MB="${1:-${BENCH_MB:-1024}}"
SMALL_MB=$(( SIZE_MB / 4 > 0 ? SIZE_MB / 4 : 1 ))
INC_MB=$(awk "BEGIN { print $SIZE_MB / 100 }")
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"

need() { # command, Debian package
    command -v "$1" >/dev/null 2>&1 && return
    echo "installing $2 ..." >&2
    (apt-get install -y -q "$2" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; }) \
        || { echo "cannot install $2" >&2; exit 1; }
}
[ -x /usr/bin/time ] || need /usr/bin/time time
need jq jq
need python3 python3

cargo build --release -q --example observe --example gen_traversal --example bench_records --example bench_drift
OBSERVE=target/release/examples/observe
GEN=target/release/examples/gen_traversal
SINCE=2026-01-01T00:00:00Z
NOW=2026-02-01T00:00:00Z

dataset() { # size_mb -> directory (generated once, reused)
    local dir="$OUT/data_${1}mb"
    if [ ! -f "$dir/.complete" ]; then
        rm -rf "$dir"
        echo "generating ${1} MB of traversal logs in $dir ..." >&2
        "$GEN" "$dir" "$1" > "$dir.next"
        mv "$dir.next" "$dir/.next"
        touch "$dir/.complete"
    fi
    echo "$dir"
}
DATA=$(dataset "$SIZE_MB")
SMALL=$(dataset "$SMALL_MB")
# Remove leftovers of an interrupted incremental measurement.
find "$DATA/logs/traversal" -name 'traversal_inc_*' -delete 2>/dev/null || true
rm -rf "$DATA/logs/traversal_inc"

bytes() { find "$1" -name '*.jsonl' -print0 | xargs -0 cat | wc -c; }
warm() { find "$1" -name '*.jsonl' -print0 | xargs -0 cat > /dev/null; }
BYTES=$(bytes "$DATA")
FILES=$(find "$DATA" -name '*.jsonl' | wc -l)
warm "$DATA"

# measure NAME OUTFILE CMD... : runs under /usr/bin/time, records wall, cpu, rss.
declare -A WALL CPU RSS
measure() {
    local name=$1 out=$2; shift 2
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.$name" "$@" > "$out"
    t1=$(date +%s%N)
    read -r _ u s m < "$OUT/time.$name"
    WALL[$name]=$(awk "BEGIN { printf \"%.4f\", ($t1 - $t0) / 1e9 }")
    CPU[$name]=$(awk "BEGIN { printf \"%.2f\", $u + $s }")
    RSS[$name]=$(( m / 1024 ))
}

echo "measuring on $((BYTES / 1048576)) MB in $FILES files (page cache warm) ..." >&2
measure wc /dev/null sh -c "find '$DATA' -name '*.jsonl' -print0 | xargs -0 wc -l"
measure observe "$OUT/observe.json" "$OBSERVE" "$DATA" --since "$SINCE" --now "$NOW" --summary
measure python "$OUT/python.json" python3 bench/aggregate.py "$DATA"
measure jq "$OUT/jq.json" sh -c "find '$DATA' -name '*.jsonl' | sort | xargs cat | jq -n -c -f bench/aggregate.jq"

# RSS at a quarter of the size: it must not grow with the amount of logs.
warm "$SMALL"
measure observe_small /dev/null "$OBSERVE" "$SMALL" --since "$SINCE" --now "$NOW" --summary
SMALL_BYTES=$(bytes "$SMALL")

# Incremental: a full run that saves the read state as a cycle keeps it (state.json
# and the sealed segments), 1% new explorations, a run from that state.
STATE="$OUT/state"
# The full run that saves the state, median of 3 like the incremental run below: a
# single full run on a shared machine can be off by a quarter.
FULL_RUNS=()
for i in 1 2 3; do
    rm -rf "$STATE"
    measure inc_full /dev/null "$OBSERVE" "$DATA" --since "$SINCE" --now "$NOW" --summary --state "$STATE"
    FULL_RUNS+=("${WALL[inc_full]} ${CPU[inc_full]}")
done
FULL_MED=$(printf '%s\n' "${FULL_RUNS[@]}" | sort -n | sed -n 2p)
NEXT=$(cat "$DATA/.next")
INC_DIR="$DATA/logs/traversal_inc"
"$GEN" "$INC_DIR" "$INC_MB" --first "$NEXT" > /dev/null
# gen writes DIR/logs/traversal/...; move the files next to the others.
for f in "$INC_DIR"/logs/traversal/*.jsonl; do mv "$f" "$DATA/logs/traversal/traversal_inc_${f##*/traversal_}"; done
rm -rf "$INC_DIR"
INC_BYTES=$(find "$DATA/logs/traversal" -name 'traversal_inc_*' -print0 | xargs -0 cat | wc -c)
INC_FILES=$(find "$DATA/logs/traversal" -name 'traversal_inc_*' | wc -l)
# Median of 3 incremental runs, each from the same saved state.
rm -rf "$STATE.full" && cp -a "$STATE" "$STATE.full"
INC_RUNS=()
for i in 1 2 3; do
    rm -rf "$STATE" && cp -a "$STATE.full" "$STATE"
    measure inc "$OUT/observe_inc.json" "$OBSERVE" "$DATA" --since "$SINCE" --now "$NOW" --summary --state "$STATE"
    INC_RUNS+=("${WALL[inc]} ${CPU[inc]} ${RSS[inc]}")
done
INC_MED=$(printf '%s\n' "${INC_RUNS[@]}" | sort -n | sed -n 2p)
rm -rf "$STATE.full" "$STATE"
find "$DATA/logs/traversal" -name 'traversal_inc_*' -delete

# The record-keeping half of a cycle on a long history.
RECORDS_RC=0
target/release/examples/bench_records 10000 > "$OUT/records.txt" 2>&1 || RECORDS_RC=$?
target/release/examples/bench_drift > "$OUT/drift.md"
LOADAVG=$(cut -d' ' -f1 /proc/loadavg)

python3 - "$OUT" "$BYTES" "$SMALL_BYTES" "$INC_BYTES" "$INC_FILES" \
    "${WALL[wc]} ${CPU[wc]} ${RSS[wc]}" \
    "${WALL[observe]} ${CPU[observe]} ${RSS[observe]}" \
    "${WALL[python]} ${CPU[python]} ${RSS[python]}" \
    "${WALL[jq]} ${CPU[jq]} ${RSS[jq]}" \
    "${WALL[observe_small]} ${CPU[observe_small]} ${RSS[observe_small]}" \
    "$FULL_MED $INC_MED" "$RECORDS_RC" "$LOADAVG" <<'EOF'
import json, sys
out, nbytes, small_bytes, inc_bytes, inc_files = sys.argv[1], *map(int, sys.argv[2:6])
row = lambda s: [float(x) for x in s.split()]
wc, ob, py, jq, obs_small, inc = (row(s) for s in sys.argv[6:12])
records_rc, loadavg = int(sys.argv[12]), float(sys.argv[13])
# inc = full wall, full cpu, incremental wall, incremental cpu, incremental rss
mb = nbytes / 1048576

o = json.load(open(f"{out}/observe.json"))
obs = {
    "explorations": int(o["metrics"].get("exploration_count", 0)),
    "termination": {k.split(":", 1)[1]: v for k, v in o["counts"].items() if k.startswith("termination:")},
    "satisfaction": o["metrics"].get("satisfaction"),
    "efficiency": o["metrics"].get("efficiency"),
    "anomalies": {k: v["count"] for k, v in o["anomalies"].items()},
}
problems = []
for name in ("python", "jq"):
    other = json.load(open(f"{out}/{name}.json"))
    for k in ("explorations", "termination", "anomalies"):
        if obs[k] != other[k]:
            problems.append(f"{k}: observe {obs[k]} != {name} {other[k]}")
    for k in ("satisfaction", "efficiency"):
        if obs[k] is None or other[k] is None or abs(obs[k] - other[k]) > 1e-6:
            problems.append(f"{k}: observe {obs[k]} != {name} {other[k]}")
if o["skipped_total"]:
    problems.append(f"observe skipped {o['skipped_total']} lines of generated data")
inc_obs = json.load(open(f"{out}/observe_inc.json"))
if int(inc_obs["metrics"].get("exploration_count", 0)) != inc_files or inc_obs["bytes_read"] != inc_bytes:
    problems.append(f"incremental run read {inc_obs['bytes_read']} bytes / "
                    f"{inc_obs['metrics'].get('exploration_count')} explorations, expected {inc_bytes} / {inc_files}")
records = open(f"{out}/records.txt").read().strip()
if records_rc != 0:
    problems.append(f"bench_records exited {records_rc}")

def line(name, r):
    wall, cpu, rss = r
    return f"| {name} | {mb / wall:,.0f} | {wall:.3f} | {cpu:.2f} | {mb / max(cpu, 1e-9):,.0f} | {rss:.0f} |"

def verdict(ok):
    return "met" if ok else "NOT met"

loaded = loadavg > 1.5
cores = __import__('os').cpu_count() or 1
r_py_wall, r_py_cpu = py[0] / ob[0], py[1] / ob[1]
r_jq_wall, r_jq_cpu = jq[0] / ob[0], jq[1] / ob[1]
# The speed targets are throughput on this machine's cores ("about 1 GB/s on two
# cores"): the wall-clock ratio on a quiet machine. On a loaded one the wall clock
# measures the other load, so the ratio is estimated from CPU seconds instead, with
# observe's spread over the cores it runs on (Python and jq use one).
r_py = r_py_cpu * cores if loaded else r_py_wall
r_jq = r_jq_cpu * cores if loaded else r_jq_wall
basis = f"CPU seconds per core ({cores})" if loaded else "wall clock"
r_wc = ob[0] / wc[0]
inc_pct_wall, inc_pct_cpu = 100 * inc[2] / inc[0], 100 * inc[3] / max(inc[1], 1e-9)
lines = [
    f"# OBSERVE benchmark: {mb:,.0f} MB of traversal logs, {o['files_read']} files, {o['lines_read']:,} lines",
    "",
    "Approach: one pass per line with a validating lazy JSON scanner (src/observe/json.rs):",
    "the full grammar is checked on every byte, only the fields the metrics need are",
    "extracted (no DOM, no allocation per line); strings and keys are searched 16 bytes",
    "at a time (SSE2), unwanted values go through a schema-free skipper, short decimals",
    "are parsed exactly without the general float parser, ASCII lines skip UTF-8",
    "decoding; one worker per core takes whole files (glob match, stat, read), and",
    "per-worker aggregates are merged order-independently. Incremental: per-file cursors;",
    "finished explorations are retired into sealed segments: a run reads their 8-byte keys",
    "and passes over their files from the directory listing (no stat, no cursor).",
    f"Page cache warm; {__import__('os').cpu_count()} cores; load average {loadavg:.2f}.",
    "",
    "| tool | MB/s (wall) | wall s | CPU s | MB per CPU s | peak RSS MB |",
    "|---|---|---|---|---|---|",
    line("improve observe", ob),
    line("python3 json (bench/aggregate.py)", py),
    line("jq (bench/aggregate.jq)", jq),
    line("wc -l (floor)", wc),
    "",
    ("The machine was loaded (load average > 1.5): wall-clock ratios are noisy, the speed "
     "targets are judged on CPU seconds per core." if loaded else
     "The machine was quiet: wall-clock ratios are meaningful; CPU-second ratios shown too."),
    "",
    f"- observe vs Python: wall **{r_py_wall:.1f}x**, CPU seconds **{r_py_cpu:.1f}x** (target >= 10x "
    f"on {basis}: {verdict(r_py >= 10)})",
    f"- observe vs jq: wall **{r_jq_wall:.1f}x**, CPU seconds **{r_jq_cpu:.1f}x** (target >= 15x "
    f"on {basis}: {verdict(r_jq >= 15)})",
    f"- observe vs wc -l: **{r_wc:.1f}x** the wall time of the floor (target <= 6x: {verdict(r_wc <= 6)})",
    f"- peak RSS: {obs_small[2]:.0f} MB at {small_bytes / 1048576:,.0f} MB of logs, "
    f"{ob[2]:.0f} MB at {mb:,.0f} MB (target < 64 MB, not growing: "
    f"{verdict(ob[2] < 64 and ob[2] <= obs_small[2] + 8)})",
    f"- incremental cycle after appending {inc_bytes / 1048576:.1f} MB (1%, {inc_files} new explorations; "
    f"state load (state.json and segment keys) + discovery + reading the new bytes + state save, median of 3): "
    f"{inc[2]:.4f} s wall / {inc[3]:.2f} s CPU vs {inc[0]:.3f} s / {inc[1]:.2f} s for the full run (median of 3) = "
    f"**{inc_pct_wall:.1f}%** of the wall time, **{inc_pct_cpu:.1f}%** of the CPU time (10 ms resolution) "
    f"(target <= 5%: {verdict((inc_pct_cpu if loaded and inc[3] > 0 else inc_pct_wall) <= 5)}), RSS {inc[4]:.0f} MB",
    "",
    f"Same numbers: explorations {obs['explorations']}, satisfaction {obs['satisfaction']:.9f}, "
    f"efficiency {obs['efficiency']:.9f}, terminations {obs['termination']}, anomalies {obs['anomalies']}",
    "",
    "## Record keeping on a 10,000-record history (examples/bench_records.rs)",
    "",
    "```",
    records,
    "```",
    "",
    "## Drift over long metric histories (examples/bench_drift.rs)",
    "",
    open(f"{out}/drift.md").read().strip(),
    "",
    "CHECK: " + ("OK, observe, Python and jq agree; record keeping within its limits" if not problems
                 else "FAILED\n  " + "\n  ".join(problems)),
]
text = "\n".join(lines) + "\n"
open(f"{out}/results.md", "w").write(text)
print(text)
sys.exit(1 if problems else 0)
EOF
