#!/usr/bin/env bash
# The long-life benchmark (issue 15, "a year of hourly cycles must cost what a day
# costs"): the demo system driven hour by hour on the simulated clock through the
# binary -- `improve demo` (the 50-hour story, ending at the start), then N times
# `improve demo simulate --hours 1` (its 60 explorations an hour, one log file each)
# and `improve cycle` -- measuring every cycle's wall time, peak RSS and the bytes
# its commits added to the records branch (in all and per commit), and at the end of
# the first and the last window of cycles the size of .git, state.json, summary.json
# and the reading commands' times. The first window's cycles are replayed beside the
# last window's (pairs) so that both are timed on the machine as it is then.
# Writes bench/out/longlife.tsv (one row per cycle), longlife-replay.tsv (the replayed
# first window) and longlife.md (first against last, with each target of the issue
# met or not). Exit 1 if a cycle failed.
#
# usage: bench/longlife.sh [N]   (default: $LIFE_CYCLES, else 8760 = a year; ~300 is a
#                                 quick run of a few minutes)
# IMPROVE_BIN=path measures that binary instead of building this tree's.
# LIFE_KEEP_LOG_DAYS=D deletes, once a simulated day, the traversal logs older than D
# days, as an operator bounding the logs would (README, "What grows"); unset, every log
# is kept, as the tool itself does.
# LIFE_FS=ext4 / LIFE_ROOT=dir: where the systems live (below).
set -euo pipefail

N="${1:-${LIFE_CYCLES:-8760}}"
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
# Where the systems driven live (not the reports): LIFE_ROOT=dir, else with
# LIFE_FS=ext4 a journaled ext4 file system made for the run (a sparse image file in
# bench/out, loop-mounted; needs root), else bench/out itself.
#
# Why a journaled ext4: ext4 without a journal (this project's CI machines' root file
# system) counts an inode freed in the last 60 s (360 s while its inode table block is
# dirty) as "recently deleted", and every file created in its block group skips it,
# one inode-table lookup each. Here a simulated hour lasts under a second, so in the
# late window the tool's own packing (which deletes the loose objects it packed, every
# hundred cycles or so) and the operator's daily prune are always seconds old, and a
# cycle's forty file creations cost 0.8 ms each instead of 0.03 ms; the first window,
# with nothing packed or pruned yet, never pays it. A deployment's cycles are an hour
# apart, and on a journaled ext4, what most Linux hosts run, the check does not exist.
if [ -n "${LIFE_ROOT:-}" ]; then
    FS_NOTE="the systems in $LIFE_ROOT"
    ROOT=$LIFE_ROOT
elif [ "${LIFE_FS:-}" = ext4 ]; then
    IMG="$OUT/life-fs.img"
    MNT="$OUT/life-fs"
    mkdir -p "$MNT"
    mountpoint -q "$MNT" && umount "$MNT"
    rm -f "$IMG"
    if truncate -s 16G "$IMG" && mkfs.ext4 -q -F -i 8192 "$IMG" && mount -o loop "$IMG" "$MNT" 2>/dev/null; then
        trap 'umount "$MNT" 2>/dev/null; rm -f "$IMG"' EXIT
        ROOT="$MNT"
        FS_NOTE="the systems on a journaled ext4 made for the run (loop-mounted image)"
    else
        FS_NOTE="the systems in $OUT (no ext4 image could be mounted)"
        echo "LIFE_FS=ext4: cannot make and mount an ext4 image here (root and a loop device are needed); running in $OUT" >&2
        rm -f "$IMG"
        ROOT=$OUT
    fi
else
    FS_NOTE="the systems in $OUT"
    ROOT=$OUT
fi
ROOT=$(realpath "$ROOT")
FS_NOTE="$FS_NOTE ($(findmnt -n -o FSTYPE,OPTIONS --target "$ROOT" 2>/dev/null | cut -c1-60 || true))"
DIR="$ROOT/life-system"
mkdir -p "$ROOT"
[ -x /usr/bin/time ] || { apt-get install -y -q time >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q time >/dev/null; }; }

if [ -n "${IMPROVE_BIN:-}" ]; then
    BIN=$(realpath "$IMPROVE_BIN")
else
    cargo build --release -q
    BIN="$PWD/target/release/improve"
fi
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=improve-bot GIT_COMMITTER_EMAIL=bot@example.com
unset IMPROVE_NOW IMPROVE_CRASH_AT RUST_LOG

START_EPOCH=$(date -u -d 2026-01-01T00:00:00Z +%s)
ts() { date -u -d "@$(( START_EPOCH + $1 * 3600 ))" +%Y-%m-%dT%H:%M:%SZ; }
W=$(( N / 2 < 100 ? N / 2 : 100 ))
[ "$W" -ge 1 ] || { echo "need at least 2 cycles" >&2; exit 2; }

# The first window is measured twice: as it runs, and again beside the last window
# (replayed from a copy of the system as the demo left it, one replayed cycle before or
# after each of the last window's cycles). This machine's speed drifts by tens of
# percent over an hour's run; a pair measured in the same minutes compares what the
# cycles cost, not what the machine was doing an hour apart.
START="$ROOT/life-start"
REPLAY="$ROOT/life-replay"
rm -rf "$DIR" "$START" "$REPLAY"
echo "long life: the demo story, then $N hourly cycles (windows of $W) in $DIR ..." >&2
"$BIN" --now "$(ts 0)" -q demo "$DIR" > /dev/null
PAIRED=$(( N >= 2 * W ? 1 : 0 ))
[ "$PAIRED" -eq 1 ] && cp -a "$DIR" "$START"
TSV="$OUT/longlife.tsv"
RTSV="$OUT/longlife-replay.tsv"
CHECKS="$OUT/longlife.checkpoints"
printf 'cycle\tnow\twall_s\trss_kb\trecords_bytes\texit\tcommits\tmax_commit_bytes\tcpu_s\tlog_files\n' > "$TSV"
printf 'cycle\tnow\twall_s\trss_kb\tcpu_s\texit\n' > "$RTSV"
: > "$CHECKS"

# Bytes on disk of the objects the records branch gained from $1 to $2.
records_bytes() {
    git -C "$DIR" rev-list --objects "$1..$2" | cut -d' ' -f1 |
        git -C "$DIR" cat-file --batch-check='%(objectsize:disk)' | awk '{ s += $1 } END { print s + 0 }'
}

# The records commits from $1 to $2 and the bytes the largest of them added.
commit_bytes() {
    local n=0 max=0 b c
    for c in $(git -C "$DIR" rev-list "$1..$2"); do
        b=$(records_bytes "$c^" "$c")
        n=$(( n + 1 ))
        (( b > max )) && max=$b
    done
    echo "$n $max"
}

# A checkpoint: sizes and the reading commands' wall time and RSS (median of 3).
checkpoint() { # label cycle now
    local label=$1 k=$2 now=$3
    local git_bytes loose packs state summary
    git_bytes=$(du -sb "$DIR/.git" | cut -f1)
    loose=$(find "$DIR/.git/objects" -path '*/objects/[0-9a-f][0-9a-f]/*' -type f | wc -l)
    packs=$(find "$DIR/.git/objects/pack" -name '*.pack' | wc -l)
    state=$(git -C "$DIR" cat-file -s improve/records:state.json 2>/dev/null || echo 0)
    summary=$(git -C "$DIR" cat-file -s improve/records:summary.json 2>/dev/null || echo 0)
    local line="$label $k git_bytes=$git_bytes loose=$loose packs=$packs state_bytes=$state summary_bytes=$summary"
    for cmd in status health check report; do
        local args=("$cmd")
        [ "$cmd" = report ] && args=(report --html "$OUT/longlife-report.html")
        local runs=()
        for _ in 1 2 3; do
            local t0 t1
            t0=$(date +%s%N)
            /usr/bin/time -f "%M" -o "$OUT/time.read" "$BIN" --repo "$DIR" --now "$now" -q "${args[@]}" > /dev/null 2>&1 || true
            t1=$(date +%s%N)
            runs+=("$(( (t1 - t0) / 1000 )) $(tail -1 "$OUT/time.read")")
        done
        local med
        med=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
        line="$line ${cmd}_us=${med% *} ${cmd}_rss=${med#* }"
    done
    echo "$line" >> "$CHECKS"
}

# The operator's log retention (LIFE_KEEP_LOG_DAYS): traversal logs are named by their
# simulated start (traversal_exp_YYYYMMDDTHHMMSS...).
prune_logs() { # hour
    local cutoff f b
    cutoff=$(date -u -d "@$(( START_EPOCH + ($1 - LIFE_KEEP_LOG_DAYS * 24) * 3600 ))" +%Y%m%dT%H%M%S)
    find "$DIR/logs/traversal" -name 'traversal_exp_*.jsonl' | while read -r f; do
        b=${f##*/traversal_exp_}
        if [[ "${b:0:15}" < "$cutoff" ]]; then rm -f "$f"; fi
    done
    return 0
}

# One timed cycle of the system in $1 at $2: sets RC, WALL (s), RSS (KB), CPU (s).
timed_cycle() { # dir now
    local t0 t1 usr sys
    RC=0
    t0=$(date +%s%N)
    /usr/bin/time -f "%M %U %S" -o "$OUT/time.cycle" "$BIN" --repo "$1" --now "$2" -q cycle > /dev/null 2>"$OUT/cycle.err" || RC=$?
    t1=$(date +%s%N)
    if [ "$RC" -ne 0 ]; then
        FAILED=$(( FAILED + 1 ))
        echo "cycle of $1 at $2 exited $RC: $(head -c 300 "$OUT/cycle.err")" >&2
    fi
    read -r RSS usr sys < <(tail -1 "$OUT/time.cycle")
    WALL=$(awk "BEGIN { print ($t1 - $t0) / 1e9 }")
    CPU=$(awk "BEGIN { print $usr + $sys }")
}

# One cycle of the first window again, on the replay copy (same inputs as the first
# run: the same simulated hour of the same demo system).
replay() { # cycle
    local now
    now=$(ts "$1")
    "$BIN" --repo "$REPLAY" --now "$now" -q demo simulate --hours 1 > /dev/null
    timed_cycle "$REPLAY" "$now"
    printf '%d\t%s\t%.4f\t%s\t%.2f\t%d\n' "$1" "$now" "$WALL" "$RSS" "$CPU" "$RC" >> "$RTSV"
}

FAILED=0
for (( k = 1; k <= N; k++ )); do
    now=$(ts "$k")
    if (( ${LIFE_KEEP_LOG_DAYS:-0} > 0 && k % 24 == 0 )); then prune_logs "$k"; fi
    j=$(( k - (N - W) ))
    if [ "$PAIRED" -eq 1 ] && [ "$j" -ge 1 ]; then
        [ "$j" -eq 1 ] && cp -a "$START" "$REPLAY"
        # Odd pairs replay first, even pairs last: neither side always runs on a
        # cache the other just warmed.
        (( j % 2 == 1 )) && replay "$j"
    fi
    "$BIN" --repo "$DIR" --now "$now" -q demo simulate --hours 1 > /dev/null
    before=$(git -C "$DIR" rev-parse improve/records)
    timed_cycle "$DIR" "$now"
    after=$(git -C "$DIR" rev-parse improve/records)
    read -r commits max_commit < <(commit_bytes "$before" "$after")
    logs=$(find "$DIR/logs" -type f | wc -l)
    printf '%d\t%s\t%.4f\t%s\t%s\t%d\t%d\t%d\t%.2f\t%d\n' "$k" "$now" "$WALL" \
        "$RSS" "$(records_bytes "$before" "$after")" "$RC" "$commits" "$max_commit" "$CPU" "$logs" >> "$TSV"
    [ "$PAIRED" -eq 1 ] && [ "$j" -ge 1 ] && (( j % 2 == 0 )) && replay "$j"
    [ "$k" -eq "$W" ] && checkpoint first "$k" "$now"
    (( k % 500 == 0 )) && echo "  $k of $N cycles" >&2
done
checkpoint last "$N" "$(ts "$N")"
LOADAVG=$(cut -d' ' -f1 /proc/loadavg)

python3 - "$TSV" "$CHECKS" "$OUT/longlife.md" "$N" "$W" "$FAILED" "$LOADAVG" "${LIFE_KEEP_LOG_DAYS:-0}" "$RTSV" "$FS_NOTE" <<'EOF'
import statistics, sys
tsv, checks, out, n, w, failed, loadavg = sys.argv[1:4] + [int(x) for x in sys.argv[4:7]] + [float(sys.argv[7])]
keep_days = int(sys.argv[8])
replayed = [l.rstrip("\n").split("\t") for l in open(sys.argv[9])][1:]
replayed = [(float(s), int(r), float(u)) for _, _, s, r, u, _ in replayed]
fs_note = sys.argv[10]
rows = [l.rstrip("\n").split("\t") for l in open(tsv)][1:]
rows = [(int(c), t, float(s), int(r), int(b), int(x), int(n), int(m), float(u), int(lf))
        for c, t, s, r, b, x, n, m, u, lf in rows]
first, last = rows[:w], rows[-w:]
cp = {}
for line in open(checks):
    label, k, *kv = line.split()
    cp[label] = {"cycle": int(k), **{a: int(b) for a, b in (x.split("=") for x in kv)}}
f, l = cp["first"], cp["last"]
med = lambda xs: statistics.median(xs)
year = 8760
mb = lambda b: b / 1048576

def ratio(a, b):
    return b / a if a else float("inf")

wall = (med([r[2] for r in first]), med([r[2] for r in last]))
cpu = (med([r[8] for r in first]), med([r[8] for r in last]))
log_files = (first[-1][9], last[-1][9])
rss = (med([r[3] for r in first]) / 1024, med([r[3] for r in last]) / 1024)
rss_max = (max(r[3] for r in first) / 1024, max(r[3] for r in last) / 1024)
rec = (med([r[4] for r in first]), med([r[4] for r in last]))
per_commit = (med([r[7] for r in first]), med([r[7] for r in last]))
commits = (med([r[6] for r in first]), med([r[6] for r in last]))
# Least-squares slope of the bytes a cycle adds against its number, over the whole run
# after the first window (what the cycle adds per 1,000 cycles of history).
tail = [(r[0], r[4]) for r in rows[w:]] or [(r[0], r[4]) for r in rows]
mx = sum(c for c, _ in tail) / len(tail)
my = sum(b for _, b in tail) / len(tail)
sxx = sum((c - mx) ** 2 for c, _ in tail)
slope = sum((c - mx) * (b - my) for c, b in tail) / sxx if sxx else 0.0
# .git after a year: measured when the run is a year, else the last window's growth
# per cycle carried on to a year (a floor: growth that increases with history makes
# the real figure larger).
last_growth = (l["git_bytes"] - f["git_bytes"]) / max(l["cycle"] - f["cycle"], 1)
git_year = l["git_bytes"] if n >= year else l["git_bytes"] + last_growth * (year - n)
verdict = lambda ok: "met" if ok else "NOT met"
paired = len(replayed) == w
if paired:
    r_wall = med([r[0] for r in replayed])
    r_cpu = med([r[2] for r in replayed])
    r_rss = med([r[1] for r in replayed]) / 1024
full = n >= year
lines = [
    f"# Long life: {n} hourly cycles of the demo system (first and last {w})",
    "",
    "The demo system (`improve demo`, its 50-hour story ending at 2026-01-01), then each hour",
    "`improve demo simulate --hours 1` (60 explorations, one log file each) and `improve cycle`,",
    "on the simulated clock, through the release binary"
    + (f", deleting traversal logs older than {keep_days} days once a day (an operator's log retention)" if keep_days else ", keeping every log")
    + ". Wall and peak RSS are per cycle",
    "(medians over the window); records bytes are the on-disk bytes of the objects the records",
    "branch gained in the cycle; reading commands are medians of 3, at the end of each window.",
    f"Machine: {__import__('os').cpu_count()} cores, load average {loadavg:.2f} at the end; {failed} cycles failed; {fs_note}.",
    "",
    f"| | first {w} cycles | last {w} cycles | last / first |",
    "|---|---|---|---|",
    f"| median cycle wall | {wall[0]:.3f} s | {wall[1]:.3f} s | {ratio(*wall):.2f}x |",
    f"| median cycle CPU (user + sys, 10 ms ticks) | {cpu[0]:.2f} s | {cpu[1]:.2f} s | {ratio(*cpu):.2f}x |",
] + ([
    f"| median cycle wall, the first {w} replayed beside the last {w} (pairs) | {r_wall:.3f} s | {wall[1]:.3f} s | {ratio(r_wall, wall[1]):.2f}x |",
    f"| median cycle CPU, pairs | {r_cpu:.2f} s | {cpu[1]:.2f} s | {ratio(r_cpu, cpu[1]):.2f}x |",
    f"| median peak RSS, pairs | {r_rss:.1f} MB | {rss[1]:.1f} MB | {ratio(r_rss, rss[1]):.2f}x |",
] if paired else []) + [
    f"| log files in the system (end of window) | {log_files[0]:,} | {log_files[1]:,} | {ratio(*log_files):.2f}x |",
    f"| peak RSS per cycle (median / max) | {rss[0]:.1f} / {rss_max[0]:.1f} MB | {rss[1]:.1f} / {rss_max[1]:.1f} MB | {ratio(*rss):.2f}x |",
    f"| records bytes added per cycle (median) | {rec[0] / 1024:,.1f} KB | {rec[1] / 1024:,.1f} KB | {ratio(*rec):.2f}x |",
    f"| records commits per cycle / largest commit (medians) | {commits[0]:.0f} / {per_commit[0] / 1024:,.1f} KB | {commits[1]:.0f} / {per_commit[1] / 1024:,.1f} KB | {ratio(*per_commit):.2f}x |",
    f"| `.git` size | {mb(f['git_bytes']):,.1f} MB | {mb(l['git_bytes']):,.1f} MB | |",
    f"| loose objects / packs | {f['loose']:,} / {f['packs']} | {l['loose']:,} / {l['packs']} | |",
    f"| `state.json` | {f['state_bytes'] / 1024:,.1f} KB | {l['state_bytes'] / 1024:,.1f} KB | {ratio(f['state_bytes'], l['state_bytes']):.2f}x |",
    f"| `summary.json` | {f['summary_bytes'] / 1024:,.1f} KB | {l['summary_bytes'] / 1024:,.1f} KB | {ratio(f['summary_bytes'], l['summary_bytes']):.2f}x |",
]
for cmd in ("status", "health", "check", "report"):
    a, b = f[f"{cmd}_us"] / 1e6, l[f"{cmd}_us"] / 1e6
    lines.append(f"| `{cmd}` wall / RSS | {a:.3f} s / {f[cmd + '_rss'] / 1024:.0f} MB | {b:.3f} s / {l[cmd + '_rss'] / 1024:.0f} MB | {ratio(a, b):.2f}x |")
reading = max(l[f"{c}_us"] for c in ("status", "health", "check", "report")) / 1e6
lines += [
    "",
    "Targets (issue 15):",
    "",
] + ([
    f"- last {w} cycles' median wall within 1.5x of the first {w}'s, measured in pairs (the first {w} "
    f"replayed beside the last {w}): {ratio(r_wall, wall[1]):.2f}x, **{verdict(ratio(r_wall, wall[1]) <= 1.5)}** "
    f"(CPU time {ratio(r_cpu, cpu[1]):.2f}x)",
] if paired else []) + [
    f"- last {w} cycles' median wall within 1.5x of the first {w}'s, the first as they ran "
    f"(an hour of machine drift apart on a full run): {ratio(*wall):.2f}x, **{verdict(ratio(*wall) <= 1.5)}** "
    f"(CPU time {ratio(*cpu):.2f}x; the load average was {loadavg:.2f} at the end)",
    f"- last {w} cycles' RSS within 1.5x of the first {w}'s: {ratio(*rss):.2f}x, **{verdict(ratio(*rss) <= 1.5)}**",
    f"- records growth per cycle proportional to the new data (the same each hour here, so "
    f"last within 1.5x of first): {ratio(*rec):.2f}x, **{verdict(ratio(*rec) <= 1.5)}**; "
    f"the bytes a cycle adds change by {slope * 1000 / 1024:+,.1f} KB per 1,000 cycles of history "
    f"(least squares over cycles {w + 1}-{n})",
    f"- `.git` after a simulated year under 1 GB: "
    + (f"{mb(git_year):,.0f} MB, **{verdict(git_year < 1 << 30)}**" if full else
       f"projected {mb(git_year):,.0f} MB from the last window's growth of "
       f"{last_growth / 1024:,.0f} KB a cycle (a floor), **{verdict(git_year < 1 << 30)} (projected)**"),
    f"- every reading command under 1 s after a year: slowest {reading:.3f} s"
    + (f", **{verdict(reading < 1)}**" if full else f" after {n} cycles, **not judged** (not a year)"),
    "",
    "Per-cycle figures: bench/out/longlife.tsv.",
]
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print(text)
sys.exit(1 if failed else 0)
EOF
