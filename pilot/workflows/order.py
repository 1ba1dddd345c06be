"""The order of one workflow level (the top graph or a loop body), without networkx.

Validation, layout and the estimate order every generated workflow, and every generate request
makes one (~10 nodes). A ``networkx.DiGraph`` keeps an attribute dict per node and per edge; on
such graphs building it and walking it through networkx's generic algorithms cost more than the
checks themselves (about half of a generated graph's validation). :class:`LevelOrder` is two
dicts of lists and Kahn's algorithm: the same generations, acyclicity and reachability. Where a
cycle must be *reported* (which nodes form it), validation still asks networkx's strongly
connected components: that path only runs for an invalid graph.
"""

from __future__ import annotations

from collections.abc import Iterable


class LevelOrder:
    """Successors and predecessors of the nodes ``ids`` along ``pairs`` (source, target);
    pairs naming an unknown node are left out (validation reports them)."""

    __slots__ = ("succ", "pred", "_generations")

    def __init__(self, ids: Iterable[str], pairs: Iterable[tuple[str, str]]) -> None:
        self.succ: dict[str, list[str]] = {nid: [] for nid in ids}
        self.pred: dict[str, list[str]] = {nid: [] for nid in self.succ}
        succ, pred = self.succ, self.pred
        for source, target in pairs:
            if source in succ and target in succ:
                succ[source].append(target)
                pred[target].append(source)
        self._generations: list[list[str]] | None | bool = False  # False: not computed yet

    def generations(self) -> list[list[str]] | None:
        """Topological generations (a node's generation is the longest path to it from a node
        with no predecessor), each in the order Kahn's algorithm reaches it; None when there is
        a cycle."""
        if self._generations is not False:
            return self._generations  # type: ignore[return-value]
        waiting = {nid: len(preds) for nid, preds in self.pred.items()}
        level = [nid for nid, count in waiting.items() if not count]
        found: list[list[str]] = []
        placed = 0
        while level:
            found.append(level)
            placed += len(level)
            following: list[str] = []
            for nid in level:
                for target in self.succ[nid]:
                    waiting[target] -= 1
                    if not waiting[target]:
                        following.append(target)
            level = following
        self._generations = found if placed == len(self.succ) else None
        return self._generations

    def acyclic(self) -> bool:
        return self.generations() is not None

    def topological(self) -> list[str] | None:
        """Every node, each after all its predecessors; None when there is a cycle."""
        generations = self.generations()
        return None if generations is None else [nid for level in generations for nid in level]

    def reachable_from(self, sources: Iterable[str]) -> set[str]:
        """``sources`` and every node a path leads to from one of them."""
        seen = set(sources)
        stack = list(seen)
        while stack:
            for target in self.succ[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen
