"""Batch graph → plan: the flat arrays the runtime's scheduling loop works on."""

from __future__ import annotations

from dataclasses import dataclass

from .graph import BatchGraph


@dataclass
class Plan:
    """Per node: what must finish first, whose output it takes, its priority and pipeline."""

    deps_ok: list[list[int]]  # previous step of the same pipeline: must have succeeded
    deps_any: list[list[int]]  # ordering only (files, the kernel's cell order)
    inputs: list[list[int]]  # the exec node a reuse node replays
    priority: list[float]
    group: list[int]
    shape: list[int]  # steps of one shape are expected to need alike memory
    # running it takes a worker process the pipeline keeps until it ends (isolated pipelines'
    # own steps): with worker processes, at most `jobs` pipelines hold one at once
    opens: list[bool]


def build_plan(graph: BatchGraph) -> Plan:
    """Edges always point from a lower to a higher node index."""
    graph.decide_copies()
    count = len(graph.nodes)
    deps_ok: list[list[int]] = [[] for _ in range(count)]
    for node_ids in graph.pipeline_nodes.values():
        for previous, current in zip(node_ids, node_ids[1:]):
            deps_ok[current].append(previous)
    consumers = [0] * count
    for node in graph.nodes:
        if node.source is not None:
            consumers[node.source] += 1
    shapes: dict[object, int] = {}
    shape = [shapes.setdefault(n.step.shape if n.kind == "exec" else (n.kind, n.id), len(shapes)) for n in graph.nodes]
    return Plan(
        deps_ok=deps_ok,
        deps_any=[sorted(n.deps_any) for n in graph.nodes],
        inputs=[[n.source] if n.source is not None else [] for n in graph.nodes],
        # Work other pipelines wait on first; then finish started pipelines in capture order
        # (depth first), so their intermediates are released before new ones are built.
        priority=[1e6 * consumers[i] - max(n.pipeline, 0) for i, n in enumerate(graph.nodes)],
        group=[n.pipeline if n.pipeline >= 0 else len(graph.pipelines) + i for i, n in enumerate(graph.nodes)],
        shape=shape,
        opens=[n.kind == "exec" and n.pipeline >= 0 and graph.pipelines[n.pipeline].isolated for n in graph.nodes],
    )
