"""The system's test command: load the physics constants and check their ranges.

Plain python3, no dependencies. Exits 1 (listing every problem) if a constant is
outside its valid range, 0 otherwise.
"""

import importlib.util
import sys
from pathlib import Path

sys.dont_write_bytecode = True
ROOT = Path(__file__).resolve().parent.parent


def load(rel):
    path = ROOT / rel
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    c = load("runtime/physics/constants.py")
    s = load("runtime/physics/subentity.py")
    problems = []

    def is_number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def check(name, value, lo, hi):
        if not is_number(value) or not lo <= value <= hi:
            problems.append(f"{name} = {value!r} is outside [{lo}, {hi}]")

    for name in ("SIBLING_DIVERGENCE_WEIGHT", "BACKTRACK_PENALTY", "SATISFACTION_THRESHOLD"):
        check(name, getattr(c, name, None), 0.0, 1.0)
    check("INTENTION_WEIGHT", getattr(s, "INTENTION_WEIGHT", None), 0.0, 1.0)
    depth = getattr(c, "MAX_DEPTH", None)
    if not isinstance(depth, int) or isinstance(depth, bool):
        problems.append(f"MAX_DEPTH = {depth!r} must be an integer")
    else:
        check("MAX_DEPTH", depth, 3, 20)
    for state in c.SubEntityState:
        check(f"STATE_MULTIPLIER[{state}]", c.STATE_MULTIPLIER.get(state), 0.0, 2.0)
    for polarity, value in c.LINK_FACTORS.items():
        check(f"LINK_FACTORS[{polarity!r}]", value, 0.0, 1.0)

    for p in problems:
        print(f"FAIL {p}")
    if problems:
        return 1
    print("ok: all constants in range")
    return 0


if __name__ == "__main__":
    sys.exit(main())
