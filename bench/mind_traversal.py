#!/usr/bin/env python3
"""Writes traversal logs into a checkout of the mind system with mind's OWN logger.

The logger module (runtime/physics/traversal_logger.py) is loaded from the checkout by
file path (its package imports the whole engine), and driven with synthetic
explorations that plant one fault each. Nothing of mind is copied here: the script only
calls the logger's public API, so the JSONL is exactly what mind writes, anomalies
included (the logger detects them itself).

    python3 bench/mind_traversal.py --mind /path/to/mind-mcp --scenario low_semantic

Scenarios: healthy, low_semantic, low_divergence, timeouts, deep_timeouts,
plateau_high, plateau_low. Explorations are stamped with the real clock (the logger's).
"""

import argparse
import importlib.util
import random
import sys
from pathlib import Path


def load_logger(mind: Path):
    path = mind / "runtime" / "physics" / "traversal_logger.py"
    spec = importlib.util.spec_from_file_location("mind_traversal_logger", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class Plan:
    """What one exploration looks like: per step the candidates (semantic, divergence),
    the satisfaction after it and the depth; how many narratives it finds; how it ends."""

    def __init__(self, steps, candidates, satisfaction, depth, found, reason):
        self.steps = steps
        self.candidates = candidates
        self.satisfaction = satisfaction
        self.depth = depth
        self.found = found
        self.reason = reason


def healthy(rng, i):
    steps = 8
    return Plan(
        steps,
        [[(0.72 + rng.uniform(0, 0.1), 0.8 + rng.uniform(0, 0.1)), (0.5, 0.7)] for _ in range(steps)],
        [0.1 + 0.85 * s / (steps - 1) for s in range(steps)],
        [s + 1 for s in range(steps)],
        3,
        "satisfaction_reached",
    )


def low_semantic(rng, i):
    p = healthy(rng, i)
    p.candidates = [[(0.36 + rng.uniform(0, 0.04), 0.85), (0.3, 0.75)] for _ in range(p.steps)]
    return p


def low_divergence(rng, i):
    p = healthy(rng, i)
    # Two of eight decisions an exponent on divergence would flip: the selected link
    # is the better match but repeats a sibling's path.
    flip = [(0.8, 0.45), (0.6, 0.58)]
    keep = [(0.9, 0.45), (0.5, 0.6)]
    p.candidates = [flip if s in (0, 3) else keep for s in range(p.steps)]
    return p


def timeouts(rng, i):
    p = healthy(rng, i)
    if i % 5 < 2:
        p.reason = "timeout"
    return p


def deep_timeouts(rng, i):
    p = timeouts(rng, i)
    p.depth = [d + 3 for d in p.depth]
    return p


def plateau(level):
    def make(rng, i):
        p = healthy(rng, i)
        p.steps = 12
        p.candidates = [[(0.75, 0.8), (0.5, 0.7)] for _ in range(p.steps)]
        p.satisfaction = [level * (s + 1) / 4 if s < 4 else level for s in range(p.steps)]
        p.depth = [s + 1 for s in range(p.steps)]
        return p

    return make


SCENARIOS = {
    "healthy": healthy,
    "low_semantic": low_semantic,
    "low_divergence": low_divergence,
    "timeouts": timeouts,
    "deep_timeouts": deep_timeouts,
    "plateau_high": plateau(0.7),
    "plateau_low": plateau(0.3),
}


def explore(tl, logger, plan, exploration_id):
    logger.exploration_start(
        exploration_id=exploration_id,
        actor_id="actor_driver",
        origin_moment="moment_driver",
        intention="explain what happened",
        root_subentity_id="se_root",
        query="what happened",
        intention_type="EXPLORE",
        actor_task="answer a question",
    )
    found = {}
    for s in range(plan.steps):
        n = s + 1
        cands = []
        for k, (semantic, divergence) in enumerate(plan.candidates[s]):
            cands.append(
                tl.LinkCandidate(
                    link_id=f"{exploration_id}_l{n}_{k}",
                    target_id=f"{exploration_id}_n{n}_{k}",
                    target_type="narrative",
                    score=semantic * 1.0 * 1.0 * 1.0 * divergence,
                    semantic=semantic,
                    polarity=1.0,
                    permanence_factor=1.0,
                    self_novelty=1.0,
                    sibling_divergence=divergence,
                )
            )
        best = max(range(len(cands)), key=lambda k: cands[k].score)
        for k, c in enumerate(cands):
            c.verdict = "SELECTED" if k == best else "REJECTED"
        chosen = cands[best]
        if len(found) < plan.found and n * plan.found >= (len(found) + 1) * plan.steps:
            found[f"{exploration_id}_narr{len(found)}"] = 0.8
        logger.log_step(
            exploration_id=exploration_id,
            subentity_id="se_root",
            actor_id="actor_driver",
            tick=n,
            step_number=n,
            state_before="SEEKING",
            state_after="SEEKING",
            transition_reason="traversed the best link",
            position_node_id=chosen.target_id,
            position_node_type="narrative",
            position_node_name=chosen.target_id,
            depth=plan.depth[s],
            satisfaction=plan.satisfaction[s],
            criticality=0.3,
            decision=tl.DecisionInfo(
                decision_type="traverse",
                candidates=cands,
                selected_link_id=chosen.link_id,
                selection_reason="highest score",
                explanation="the best scoring link",
                confidence=0.7,
            ),
            movement=tl.MovementInfo(
                from_node_id=f"{exploration_id}_n{s}_0",
                from_node_type="narrative",
                to_node_id=chosen.target_id,
                to_node_type="narrative",
                via_link_id=chosen.link_id,
                polarity_used=1.0,
            ),
            found_narratives=dict(found),
            new_this_step=None,
            alignment_this_step=None,
            parent_id=None,
            sibling_ids=[],
            children_ids=[],
            active_siblings=0,
            emotions={},
            intention="explain what happened",
        )
    logger.exploration_end(
        exploration_id=exploration_id,
        found_narratives=found,
        satisfaction=plan.satisfaction[-1],
        termination_reason=plan.reason,
        criticality=0.3,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mind", required=True, type=Path, help="a checkout of mind-mcp")
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--count", type=int, default=20, help="explorations to write")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tag", default="", help="added to exploration ids")
    args = ap.parse_args()
    tl = load_logger(args.mind)
    log_dir = args.mind / "engine" / "data" / "logs" / "traversal"
    logger = tl.TraversalLogger(log_dir=log_dir, enable_human_readable=False)
    rng = random.Random(args.seed)
    make = SCENARIOS[args.scenario]
    for i in range(args.count):
        explore(tl, logger, make(rng, i), f"exp_{args.scenario}{args.tag}_{i:03d}")
    print(f"{args.count} explorations ({args.scenario}) in {log_dir}")


if __name__ == "__main__":
    main()
