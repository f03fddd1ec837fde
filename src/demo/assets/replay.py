"""Replay for shadow validation: run a fixed set of explorations against the current
constants and print one JSON object of the doctor's metrics.

A line-for-line port of the exploration model the demo's log simulator uses (same
PRNG, same arithmetic), so baseline and candidate are judged on identical inputs.
Plain python3, no dependencies. Usage: python3 tools/replay.py [EXPLORATIONS]
"""

import importlib.util
import json
import math
import re
import sys
from pathlib import Path

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parent.parent
MASK = (1 << 64) - 1
REPLAY_SEED = 7
FIND_SCALE = 1.3
BACKTRACK_P = 0.03
ERROR_P = 0.005
DEPTH_CAP = 200


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def gauss(self):
        s = self.uniform() + self.uniform() + self.uniform() + self.uniform()
        return (s - 2.0) * 1.7320508075688772


def mix(a, b, c):
    x = SplitMix64(a).next_u64() ^ b
    y = SplitMix64(x).next_u64() ^ c
    return SplitMix64(y).next_u64()


def clamp(x, lo, hi):
    return min(max(x, lo), hi)


def load(rel):
    path = ROOT / rel
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timeout_s():
    try:
        text = (ROOT / "protocols/explore.yaml").read_text()
    except OSError:
        return 30.0
    m = re.search(r"^\s*-?\s*timeout_s:\s*([0-9.]+)", text, re.M)
    return float(m.group(1)) if m else 30.0


def params():
    c = load("runtime/physics/constants.py")
    depth = math.floor(float(c.MAX_DEPTH) + 0.5)
    return {
        "w": float(c.SIBLING_DIVERGENCE_WEIGHT),
        "max_depth": depth if depth > 0 else 1,
        "threshold": float(c.SATISFACTION_THRESHOLD),
        "timeout_s": timeout_s(),
    }


def explore(p, rng):
    w = p["w"]
    d_mean = clamp(0.15 + 2.2 * w, 0.05, 0.82)
    s_mean = clamp(0.68 - max(w - 0.45, 0.0), 0.2, 0.9)
    t = p["timeout_s"] if p["timeout_s"] > 0.0 else 30.0
    timeout_p = 0.03 * clamp(30.0 / t, 0.25, 4.0)
    limit = clamp(p["max_depth"], 1, DEPTH_CAP)
    sat = 0.05 + 0.10 * rng.uniform()
    timeout_draw = rng.uniform()
    timeout_at = rng.uniform()
    error_draw = rng.uniform()
    error_at = rng.uniform()
    timeout_step = 1 + int(timeout_at * limit) if timeout_draw < timeout_p else None
    error_step = 1 + int(error_at * limit) if error_draw < ERROR_P else None
    steps = []
    depth = 0
    while True:
        depth += 1
        div = clamp(d_mean + 0.12 * rng.gauss(), 0.01, 0.99)
        r1 = rng.uniform()
        r2 = rng.uniform()
        rejected = [clamp(div - 0.15 * r1, 0.01, 0.99), clamp(div - 0.15 * r2, 0.01, 0.99)]
        sem = clamp(s_mean + 0.08 * rng.gauss(), 0.01, 0.99)
        backtrack = rng.uniform() < BACKTRACK_P
        find_draw = rng.uniform()
        alignment = 0.6 + 0.35 * rng.uniform()
        ramp = clamp(0.05 + 0.15 * depth, 0.0, 1.0)
        p_find = 0.0 if backtrack else FIND_SCALE * (0.02 + 0.30 * div) * (sem / 0.68) * ramp
        found = find_draw < p_find
        sat += 0.02
        if found:
            sat += 0.3 * alignment
        sat = min(sat, 1.0)
        steps.append((div, rejected, sem, backtrack, found, sat))
        if error_step == depth:
            return steps, "error"
        if timeout_step == depth:
            return steps, "timeout"
        if sat >= p["threshold"]:
            return steps, "satisfaction_reached"
        if depth >= limit:
            return steps, "max_depth"


def health(steps, reason):
    n = len(steps)
    first, last = steps[0][5], steps[-1][5]
    divs = [d for s in steps for d in [s[0]] + s[1] if d > 0.0]
    return [
        sum(1 for s in steps if s[4]) / n,
        last,
        (last - first) / n,
        sum(divs) / len(divs) if divs else 0.0,
        sum(s[2] for s in steps) / n,
        sum(1 for s in steps if s[3]) / n,
        1.0 if reason == "timeout" else 0.0,
    ]


NAMES = ["efficiency", "satisfaction", "satisfaction_velocity", "sibling_divergence",
         "semantic_quality", "backtrack_rate", "timeout_rate"]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    p = params()
    sums = [0.0] * len(NAMES)
    for i in range(n):
        rng = SplitMix64(mix(REPLAY_SEED, 0, i))
        for k, v in enumerate(health(*explore(p, rng))):
            sums[k] += v
    metrics = {name: round(s / max(n, 1), 6) for name, s in zip(NAMES, sums)}
    metrics["explorations"] = n
    print(json.dumps(metrics, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
