"""A subentity: one walker of an exploration, scoring links and moving through the graph.

Scoring blends how well a link's target matches the query and the intention with how
far it leads from the paths the subentity's siblings took.
"""

from dataclasses import dataclass, field

# Weight of the intention against the query when scoring a link's semantic match.
INTENTION_WEIGHT = 0.25


@dataclass
class SubEntity:
    id: str
    position: str
    depth: int = 0
    satisfaction: float = 0.0
    visited: list = field(default_factory=list)

    def semantic(self, query_alignment, intention_alignment):
        """Semantic match of a link target, query and intention blended."""
        return (1 - INTENTION_WEIGHT) * query_alignment + INTENTION_WEIGHT * intention_alignment

    def score_link(self, semantic, sibling_divergence, divergence_weight, backtrack_penalty, target):
        """Score of a candidate link; the highest one is traversed."""
        score = (1 - divergence_weight) * semantic + divergence_weight * sibling_divergence
        if target in self.visited:
            score -= backtrack_penalty
        return score

    def move(self, target):
        self.visited.append(self.position)
        self.position = target
        self.depth += 1
