"""Physics constants of the exploration engine.

Every number a subentity's traversal depends on lives here, so that tuning the
physics never means editing the algorithms. Values are reviewed like code.
"""

from enum import Enum


class SubEntityState(Enum):
    SEEKING = "seeking"
    BRANCHING = "branching"
    ABSORBING = "absorbing"
    RESONATING = "resonating"
    REFLECTING = "reflecting"
    CRYSTALLIZING = "crystallizing"
    MERGING = "merging"


# Weight of sibling divergence in link scoring: how strongly a subentity prefers
# links that lead away from where its siblings already went.
SIBLING_DIVERGENCE_WEIGHT = 0.10

# Score penalty for a link back to a node this subentity already visited.
BACKTRACK_PENALTY = 0.30

# Deepest level a subentity may reach before the exploration stops (max_depth).
MAX_DEPTH = 10

# Satisfaction at which an exploration stops (satisfaction_reached).
SATISFACTION_THRESHOLD = 0.75

# Energy injected into the graph per step, by the state the subentity is in.
STATE_MULTIPLIER = {
    SubEntityState.SEEKING: 0.5,
    SubEntityState.BRANCHING: 0.8,
    SubEntityState.ABSORBING: 1.0,
    SubEntityState.RESONATING: 1.2,
    SubEntityState.REFLECTING: 0.6,
    SubEntityState.CRYSTALLIZING: 1.5,
    SubEntityState.MERGING: 0.7,
}

# Permanence factor of a traversed link, by link polarity.
LINK_FACTORS = {
    'supports': 0.20,
    'contradicts': 0.15,
    'elaborates': 0.25,
    'questions': 0.10,
}
