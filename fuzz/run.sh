#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS_PER_TARGET (default 60) and prints the
# number of runs per target. Exits non-zero if a target crashes (artifacts/ keeps the
# input). Only a stable toolchain is available here, so RUSTC_BOOTSTRAP=1 lets it
# accept the -Z flags cargo-fuzz passes.
set -uo pipefail
secs="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked || exit 1
fi
export RUSTC_BOOTSTRAP=1
# Our code is safe Rust: coverage-guided fuzzing without ASan finds the panics and
# broken invariants we care about and builds much faster. FUZZ_SANITIZER=address works too.
san="${FUZZ_SANITIZER:-none}"

seed() { # target file content
    mkdir -p "corpus/$1"
    printf '%s' "$3" >"corpus/$1/$2"
}
constants="$(cat ../src/propose/edit/fixtures/constants.py)"
seed python_editor seed1 "INTENTION_WEIGHT
$constants"
seed python_editor seed2 "LINK_FACTORS['supports']
$constants"
seed python_editor seed3 "STATE_MULTIPLIER[SubEntityState.SEEKING]
$constants"
seed yaml_editor seed1 "steps.explore.timeout
steps:
  explore:
    timeout: 30 # s
    w: {a: 1, b: [0.5, 2]}
list:
- name: a
  v: '3'
"
seed toml_editor seed1 "scoring.polarity.supports
[scoring]
semantic = 0.6
polarity = { supports = 0.2 }
[[steps]]
timeout = 30
"
seed json_editor seed1 'a.b[1]
{"a": {"b": [1, 2.5, true, "x"]}, "c": null}'
seed config_loader seed1 "$(cat ../improvement-data/config.yaml)"
mkdir -p corpus/patch_apply # NUL separates old, new and patch: printf, not a variable
printf 'a\nb\nc\n\0a\nB\nc\0' >corpus/patch_apply/seed1
seed decoders seed1 '{"event":"EXPLORATION_START","exploration_id":"e1","timestamp":"2025-12-26T14:30:00.012Z"}'

mkdir -p target
if ! cargo fuzz build -s "$san" >target/build.log 2>&1; then
    echo "fuzz build failed (see fuzz/target/build.log):"
    tail -30 target/build.log
    exit 1
fi
status=0
for t in $(cargo fuzz list); do
    log="$(mktemp)"
    if cargo fuzz run -s "$san" "$t" "corpus/$t" -- -max_total_time="$secs" \
        -print_final_stats=1 >"$log" 2>&1; then
        outcome="ok"
    else
        outcome="CRASHED (artifacts in fuzz/artifacts/$t)"
        status=1
        tail -40 "$log"
    fi
    runs="$(grep -ao 'Done [0-9]* runs' "$log" | awk '{print $2}' | tail -1)"
    [ -z "$runs" ] && runs="$(grep -ao '^#[0-9]*' "$log" | tail -1 | tr -d '#')"
    printf '%-14s %10s runs in %ss  %s\n' "$t" "${runs:-?}" "$secs" "$outcome"
    rm -f "$log"
done
exit "$status"
