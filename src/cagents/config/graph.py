"""The workflow as a graph: one outgoing edge per node, successors, reachability, joins.

Built once from a validated config and shared by validation (reachability, cycles,
fan-out conflicts), the diagrams and the engine (which node joins which fan-out).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import cached_property

from cagents.config.models import END, START, Edge, WorkflowConfig

__all__ = ["Graph", "build_graph"]


@dataclass(frozen=True)
class Graph:
    """Adjacency of a workflow. `out` maps a node (or START) to its single outgoing edge."""

    node_ids: tuple[str, ...]
    out: dict[str, Edge]
    map_targets: dict[str, str] = field(default_factory=dict)  # target node -> node with the map edge

    @property
    def entry(self) -> str:
        edge = self.out[START]
        assert isinstance(edge.to, str)
        return edge.to

    def successors(self, node: str) -> list[str]:
        """Nodes (or END) that can run right after `node`."""
        edge = self.out.get(node)
        return list(dict.fromkeys(edge.targets)) if edge is not None else []

    @cached_property
    def predecessors(self) -> dict[str, list[str]]:
        preds: dict[str, list[str]] = {n: [] for n in (*self.node_ids, END)}
        for source in (START, *self.node_ids):
            for target in self.successors(source):
                preds.setdefault(target, []).append(source)
        return preds

    def reachable_from(self, start: str, *, stop: str | None = None) -> set[str]:
        """Everything reachable from `start` (included), not walking past `stop`."""
        seen = {start}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == stop:
                continue
            for nxt in self.successors(node):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    @cached_property
    def reaches_end(self) -> set[str]:
        """Nodes from which END can be reached."""
        seen = {END}
        queue = deque([END])
        while queue:
            node = queue.popleft()
            for prev in self.predecessors.get(node, []):
                if prev not in seen:
                    seen.add(prev)
                    queue.append(prev)
        return seen

    @cached_property
    def _reach(self) -> dict[str, frozenset[str]]:
        return {n: frozenset(self.reachable_from(n)) for n in (*self.node_ids, END)}

    @cached_property
    def ancestors(self) -> dict[str, frozenset[str]]:
        """For each node, the nodes from which it can be reached (itself only in a cycle)."""
        found: dict[str, set[str]] = {n: set() for n in (*self.node_ids, END)}
        for source, reach in self._reach.items():
            for target in reach:
                if target != source or source in self._cyclic:
                    found.setdefault(target, set()).add(source)
        return {n: frozenset(v) for n, v in found.items()}

    @cached_property
    def _cyclic(self) -> frozenset[str]:
        return frozenset(n for n in self.node_ids if any(n in self._reach.get(s, ()) for s in self.successors(n)))

    def can_reach(self, source: str, target: str) -> bool:
        return target in self._reach.get(source, frozenset())

    def join_of(self, fanout_node: str) -> str:
        """The node where the branches of a fan-out meet again: its nearest post-dominator."""
        return self.post_dominators[fanout_node]

    @cached_property
    def post_dominators(self) -> dict[str, str]:
        """Immediate post-dominator of each node (END when branches only meet at the end)."""
        nodes = [n for n in self.node_ids if n in self.reaches_end]
        universe = frozenset((*nodes, END))
        pdom: dict[str, frozenset[str]] = {n: universe for n in nodes}
        pdom[END] = frozenset({END})
        changed = True
        while changed:
            changed = False
            for node in nodes:
                succ = [s for s in self.successors(node) if s in pdom]
                if not succ:
                    continue
                common = frozenset.intersection(*(pdom[s] for s in succ))
                new = common | {node}
                if new != pdom[node]:
                    pdom[node] = new
                    changed = True
        result: dict[str, str] = {}
        for node in nodes:
            strict = pdom[node] - {node}
            # The immediate one is the strict post-dominator that all others post-dominate.
            for candidate in strict:
                if all(other in pdom.get(candidate, universe) for other in strict):
                    result[node] = candidate
                    break
            else:
                result[node] = END
        return result

    def branch_nodes(self, fanout_node: str) -> dict[str, set[str]]:
        """For each branch of a fan-out, the nodes it may run before the join."""
        edge = self.out[fanout_node]
        join = self.join_of(fanout_node)
        return {
            target: {n for n in self.reachable_from(target, stop=join) if n not in (join, END)}
            for target in edge.targets
        }

    def unbounded_cycle(self) -> list[str] | None:
        """A cycle that no loop edge bounds, as a node path, or None.

        Loop edges are bounded by `max_iterations`; removing their back transition must
        leave the graph acyclic, or some cycle could run forever.
        """
        def succ(node: str) -> list[str]:
            edge = self.out.get(node)
            if edge is None:
                return []
            if edge.loop is not None:
                return [edge.loop.exit_to]
            return list(dict.fromkeys(edge.targets))

        color: dict[str, int] = {}
        stack_path: list[str] = []

        for root in self.node_ids:
            if color.get(root):
                continue
            # iterative DFS keeping the current path for the report
            iterators = [(root, iter(succ(root)))]
            color[root] = 1
            stack_path.append(root)
            while iterators:
                node, children = iterators[-1]
                advanced = False
                for child in children:
                    if child == END:
                        continue
                    state = color.get(child, 0)
                    if state == 1:
                        start = stack_path.index(child)
                        return [*stack_path[start:], child]
                    if state == 0:
                        color[child] = 1
                        stack_path.append(child)
                        iterators.append((child, iter(succ(child))))
                        advanced = True
                        break
                if not advanced:
                    color[node] = 2
                    stack_path.pop()
                    iterators.pop()
        return None


def build_graph(config: WorkflowConfig) -> Graph:
    """Adjacency from a config whose edge sources are unique (validation checks that first)."""
    out: dict[str, Edge] = {}
    map_targets: dict[str, str] = {}
    for edge in config.edges:
        out.setdefault(edge.from_, edge)
        if edge.parallel is not None:
            map_targets.setdefault(edge.parallel.target_node, edge.from_)
    return Graph(node_ids=tuple(n.id for n in config.nodes), out=out, map_targets=map_targets)
