"""Steps → batch graph.

Every captured cell is a *pipeline*: a sequence of steps. The graph simulates each
pipeline's namespace symbolically — a name maps to a *version*, the identity of the value
bound to it — so that a step's fingerprint (its code plus the versions it reads, plus the
files and RNG state it depends on) is equal exactly when the step would compute the same
thing. The first step with a given fingerprint *executes*; later ones *reuse* its outputs.

Isolation is decided here too: a step that may mutate a value in place works on a copy when
any other pipeline (or a later point of its own lineage) can still observe that value.
"""

from __future__ import annotations

import hashlib
import os
import types
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from .capture import Step
from .effects import ARGV, ITERATOR, function_effects, replayable
from .frontend import plural

KERNEL = -1  # lineage of the non-isolated cells: they share the kernel namespace, in order
RNG = "@rng"
SCRIPT_FILE = "__file__"
SETTINGS = "@settings"  # process-wide settings: warnings filters, pandas options, scikit-learn config
FS_ANY = "@fs_any"  # bumped by every file write
FS_DYNAMIC = "@fs_dynamic"  # bumped by writes to paths only known at run time


@dataclass
class Pipeline:
    """A captured cell."""

    name: str
    code: str
    isolated: bool
    steps: list[Step]
    filename: str  # what its code is compiled as: the script's absolute path, else <cell NAME>
    path: str | None = None  # the script file an isolated pipeline was read from: its __file__

    @property
    def lineage(self) -> int:
        return KERNEL if not self.isolated else id(self)


@dataclass
class Node:
    """One step of one pipeline, placed in the graph."""

    id: int
    pipeline: int  # index into BatchGraph.pipelines; -1 for write-back nodes
    step: Step | None
    key: str
    kind: str  # "exec" (runs the code) | "reuse" (binds an earlier node's outputs) | "writeback"
    source: int | None = None  # the exec node a reuse node takes its outputs from
    reads: dict[str, str] = field(default_factory=dict)  # name → version
    outputs: frozenset[str] = frozenset()
    mutated: frozenset[str] = frozenset()
    mutated_versions: frozenset[str] = frozenset()
    copy_before: bool = False
    rng: bool = False
    lineage: int = 0
    position: int = 0
    deps_any: set[int] = field(default_factory=set)
    writeback_of: int | None = None
    cacheable: bool = False  # its outputs may be kept for later runs (see ``_add_step``)
    future_flags: int = 0  # compiler flags of `from __future__` imports before it in its lineage
    guarded: frozenset[str] = frozenset()  # names read and not declared changed that others observe (guard.py)


class BatchGraph:
    """All captured pipelines merged into one graph of unique steps."""

    def __init__(
        self, pipelines: list[Pipeline] = (), kernel_names: Mapping[str, object] | None = None, cwd: str | None = None,
        share: bool = True,
    ) -> None:
        """``share=False``: no step is merged with another (how the guard re-runs pipelines)."""
        self.share = share
        self.pipelines: list[Pipeline] = []
        self.kernel_names = kernel_names or {}
        self.cwd = cwd or os.getcwd()
        self.nodes: list[Node] = []
        self.pipeline_nodes: dict[int, list[int]] = defaultdict(list)
        self.first_exec: dict[str, int] = {}
        self.producer: dict[str, int] = {}
        self.lazy: dict[str, frozenset[str]] = {}
        # version → effects of calling what it holds (a function, an object of a class defined in a
        # cell): globals changed in place, globals rebound. A step that reads it and calls applies them.
        self.effects: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        # Per lineage: versions that may be one object in that lineage's namespace (aliases,
        # in-place changes). Another lineage's view of a shared version is its own: it is seen
        # through ``observed`` instead, which keeps a closure within the lineage's own history.
        self.links: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.observed: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.files: dict[str, str] = {}  # pseudo-name → version (file state is global, not per lineage)
        self.file_readers: dict[str, list[int]] = defaultdict(list)
        self.file_writer: dict[str, int] = {}
        self.kernel_env: dict[str, str] = {RNG: "kernel-rng", ARGV: "argv:kernel"}
        self.kernel_objects: dict[int, list[str]] = {}
        self.kernel_tail: int | None = None
        self.kernel_position = 0
        self.kernel_seeded = False
        self.kernel_dynamic = False
        self.kernel_future = 0
        self.final_env: dict[int, dict[str, str]] = {}
        self.view_ids: dict[str, str] = {}  # step key → stable widget id, in first-seen order
        self.key_owner: dict[str, int] = {}  # step key → first pipeline that has it
        self.unwritten: list[int] = []  # isolated pipelines whose names no kernel cell has seen yet
        self.copies_decided = False
        self._captured = 0
        # Versions whose value is not determined by code and inputs (a clock read, an unseeded
        # draw): nothing derived from them is kept for later runs.
        self.tainted: set[str] = set()
        for pipeline in pipelines:
            self.add(pipeline)

    def add(self, pipeline: Pipeline) -> int:
        """Merge one more captured cell into the graph; costs time in proportion to the cell."""
        index = len(self.pipelines)
        self.pipelines.append(pipeline)
        if not pipeline.isolated:
            self._write_back_isolated_before_kernel_cell()
        first = len(self.nodes)
        self._add_pipeline(index, pipeline)
        for node in self.nodes[first:]:
            if node.kind != "writeback":
                self.view_ids.setdefault(node.key, f"n{len(self.view_ids)}")
                self.key_owner.setdefault(node.key, index)
        self._captured += len(pipeline.steps)
        self.copies_decided = False
        return index

    # -- building -------------------------------------------------------------------------
    def _add_pipeline(self, index: int, pipeline: Pipeline) -> None:
        if pipeline.isolated:
            env: dict[str, str] = {RNG: f"unseeded:{pipeline.name}"}
            env[ARGV] = "argv:kernel"
            if pipeline.path is not None:  # scripts in other directories compute other paths from it
                env[SCRIPT_FILE] = f"script:{os.path.abspath(pipeline.path)}"
                env[ARGV] = f"argv:{pipeline.path}"
            position, seeded, dynamic, future = 0, False, False, 0
        else:
            env = self.kernel_env
            position, seeded, dynamic, future = self.kernel_position, self.kernel_seeded, self.kernel_dynamic, self.kernel_future
        lineage = pipeline.lineage
        previous_tail = self.kernel_tail if not pipeline.isolated else None
        for step in pipeline.steps:
            position += 1
            node = self._add_step(index, pipeline, step, env, lineage, position, seeded, dynamic)
            node.future_flags = future
            future |= step.future_flags
            if previous_tail is not None:
                node.deps_any.add(previous_tail)
                previous_tail = None
            seeded = seeded or step.rng_seed
            dynamic = dynamic or step.dynamic
        for version in {v for n, v in env.items() if not n.startswith("@")}:
            self.observed[version].append((lineage, position + 0.5))
        self.final_env[index] = dict(env)
        if pipeline.isolated:
            self._record_isolated_writeback(index, env)
        else:
            self.kernel_position, self.kernel_seeded, self.kernel_dynamic = position, seeded, dynamic
            self.kernel_future = future
            if self.pipeline_nodes[index]:
                self.kernel_tail = self.pipeline_nodes[index][-1]

    def _record_isolated_writeback(self, index: int, env: dict[str, str]) -> None:
        """An isolated cell's names land in the kernel namespace after it, like running it there."""
        for name, version in env.items():
            if not name.startswith("@") and name != SCRIPT_FILE:  # the script's, not a name it bound
                self.kernel_env[name] = version
        # A write-back node is needed only if a kernel cell follows (else the final write-back
        # suffices): it is added when that cell is.
        self.unwritten.append(index)

    def _write_back_isolated_before_kernel_cell(self) -> None:
        for index in self.unwritten:
            self._add_writeback(index)
        self.unwritten = []

    def _add_writeback(self, index: int) -> None:
        self.kernel_position += 1
        node = Node(
            id=len(self.nodes), pipeline=-1, step=None, key=f"writeback:{index}", kind="writeback",
            lineage=KERNEL, position=self.kernel_position, writeback_of=index,
        )
        if self.pipeline_nodes[index]:
            node.deps_any.add(self.pipeline_nodes[index][-1])
        if self.kernel_tail is not None:
            node.deps_any.add(self.kernel_tail)
        self.nodes.append(node)
        self.kernel_tail = node.id

    def _version(self, env: dict[str, str], lineage: int, name: str) -> str | None:
        if name in env:
            return env[name]
        if lineage == KERNEL and name in self.kernel_names:
            version = env[name] = f"kernel:{name}"
            value = self.kernel_names[name]
            if isinstance(value, types.FunctionType):  # defined in the kernel before this batch
                reads, changes, rebinds = function_effects(value, self.kernel_names)
                self.lazy[version] = reads
                self.effects[version] = (changes, rebinds)
            # Kernel names bound to one object change together when it is mutated in place.
            same_object = self.kernel_objects.setdefault(id(self.kernel_names[name]), [])
            for other in same_object:
                self._link(KERNEL, version, other)
            same_object.append(version)
            return version
        return None

    def _add_step(
        self, index: int, pipeline: Pipeline, step: Step, env: dict[str, str], lineage: int,
        position: int, seeded: bool, dynamic: bool,
    ) -> Node:
        reads = set(step.reads)
        if step.dynamic or dynamic:
            reads |= {n for n in env if not n.startswith("@")}
        pending = list(reads)
        mutates, writes = set(step.mutates), set(step.writes)
        while pending:  # functions and objects built from them read their globals when called
            version = self._version(env, lineage, pending.pop())
            for name in self.lazy.get(version, ()) if version else ():
                if name not in reads:
                    reads.add(name)
                    pending.append(name)
            if step.calls and version in self.effects:  # ... and change or rebind the ones they reach
                changes, rebinds = self.effects[version]
                mutates |= changes
                writes |= rebinds
        reads |= writes - step.writes
        mutated_versions = self._closure(
            lineage,
            {v for n in mutates if (v := self._version(env, lineage, n)) is not None}
        )
        mutated = frozenset(
            n for n, v in (env.items() if mutated_versions else ()) if v in mutated_versions and not n.startswith("@")
        )
        reads |= mutated

        rng = step.rng or (seeded and step.calls)
        salt = ""
        # Non-deterministic, opaque, or an iterator (a generator has no faithful copy, and whoever
        # shares one uses it up for the others): never merged.
        # A settings call inside a larger statement cannot be replayed where its outputs are bound.
        if not self.share or step.clock or step.dynamic or dynamic or (step.rng and not seeded and not step.rng_seed) or any(
            kind == ITERATOR for _, _, kind in step.resolved
        ) or (step.settings and not replayable(step.tree)):
            salt = f"{pipeline.name}:{step.index}"
        pseudo_reads, pseudo_writes = self._file_effects(step)
        read_versions = {n: v for n in reads if (v := self._version(env, lineage, n)) is not None}
        if rng:
            read_versions[RNG] = env[RNG]
        for name in pseudo_reads:
            if name not in self.files:  # a file's state on disk is read once per graph
                self.files[name] = self._disk_version(name)
            read_versions[name] = self.files[name]
        # A step runs under the settings the pipeline's statements made before it: it is merged
        # only with steps that ran after the same ones (a print under another display option,
        # a fit under another scikit-learn configuration computes something else).
        settings = (env[SETTINGS],) if SETTINGS in env else ()
        key = hashlib.sha256(
            repr((step.fingerprint, sorted(read_versions.items()), sorted(reads - set(read_versions)), salt, *settings)).encode()
        ).hexdigest()[:20]

        node = Node(
            id=len(self.nodes), pipeline=index, step=step, key=key, kind="exec", reads=read_versions,
            outputs=frozenset(writes | mutated), mutated=mutated, mutated_versions=frozenset(mutated_versions),
            rng=rng, lineage=lineage, position=position,
        )
        tainted = bool(salt) or any(v in self.tainted for v in read_versions.values())
        # Kept for later runs: isolated steps determined by their code, inputs and the content of
        # the files they read, with no effect beyond their bindings (a definition's function object
        # is not kept; what calling it computes is, unless it holds cell-defined code: see publish).
        node.cacheable = (
            lineage != KERNEL and not tainted and not step.is_definition and not pseudo_writes
            and all(a.path is not None for a in step.files)
        )
        if key in self.first_exec and not step.is_definition:
            node.kind, node.source = "reuse", self.first_exec[key]
        else:
            self.first_exec.setdefault(key, node.id)
        self.nodes.append(node)
        self.pipeline_nodes[index].append(node.id)

        for name, version in read_versions.items():
            if name.startswith("@file:") or name.startswith("@fs"):
                producer = self.producer.get(version)
                if producer is not None and self.nodes[producer].pipeline != index:
                    node.deps_any.add(producer)
            elif not name.startswith("@"):
                self.observed[version].append((lineage, position))
        self._order_file_access(node, pseudo_reads, pseudo_writes)

        inherited = frozenset().union(*(self.lazy.get(v, frozenset()) for v in read_versions.values()))
        inherited_effects = [self.effects[v] for v in read_versions.values() if v in self.effects]
        if step.lazy_mutates or step.lazy_writes:
            inherited_effects.append((step.lazy_mutates, step.lazy_writes))
        effects = (
            frozenset().union(*(e[0] for e in inherited_effects)), frozenset().union(*(e[1] for e in inherited_effects))
        ) if inherited_effects else None
        needed = {source for _, sources in step.aliases for source in sources} | mutated
        before = {n: env[n] for n in needed if n in env}  # not a copy of env: cells can be long
        for name in writes | mutated:
            version = f"{key}:{name}"
            env[name] = version
            self.producer[version] = node.id
            self.lazy[version] = inherited | step.lazy
            if effects is not None:
                self.effects[version] = effects
        for name in step.deletes:
            env.pop(name, None)
        for target, sources in step.aliases:
            for source in sources:
                if source in before and target in env:
                    self._link(lineage, env[target], before[source])
        for name in mutated:
            self._link(lineage, env[name], before[name])
            for other in mutated:
                self._link(lineage, env[name], env[other])
        if rng:
            env[RNG] = f"{key}:{RNG}"
        if step.settings:
            env[SETTINGS] = self._settings_version(step, read_versions, pseudo_writes, salt, settings)
        if tainted:
            self.tainted.update(env[n] for n in writes | mutated | ({RNG} if rng else set()) if n in env)
        for name in pseudo_writes:
            self.files[name] = f"{key}:{name}"
            self.producer[self.files[name]] = node.id
        return node

    @staticmethod
    def _settings_version(step: Step, read_versions: dict[str, str], written_files: list[str], salt: str,
                          settings: tuple[str, ...]) -> str:
        """The process settings after ``step``: a function of its code, what it read and the
        settings before — not of the files it writes, so that pipelines each opening their own
        log with one ``logging.basicConfig(filename=...)`` still share what follows."""
        reads = sorted((n, v) for n, v in read_versions.items() if n not in written_files)
        return hashlib.sha256(repr((step.fingerprint, reads, salt, *settings)).encode()).hexdigest()[:20] + f":{SETTINGS}"

    def _file_effects(self, step: Step) -> tuple[list[str], list[str]]:
        reads: list[str] = []
        writes: list[str] = []
        for access in step.files:
            if access.path is None:
                reads += [FS_ANY, FS_DYNAMIC]
                writes += [FS_DYNAMIC, FS_ANY] if access.mode == "w" else []
            else:
                name = "@file:" + os.path.normpath(os.path.join(self.cwd, access.path))
                reads += [name, FS_DYNAMIC]
                writes += [name, FS_ANY] if access.mode == "w" else []
        return reads, writes

    def _disk_version(self, name: str) -> str:
        if not name.startswith("@file:"):
            return f"disk:{name}"
        path = name[len("@file:") :]
        if not os.path.exists(path):
            return f"disk:{path}:missing"
        from .cache import file_digest  # content, so that steps kept across runs see changed files

        try:
            digest = file_digest(path)
        except OSError:
            digest = "unreadable"
        return f"disk:{path}:{digest}"

    def _order_file_access(self, node: Node, reads: list[str], writes: list[str]) -> None:
        """Writes wait for earlier readers and writers of the same file; reads wait for the last writer."""
        for name in set(reads) | set(writes):
            if name in writes:
                node.deps_any.update(r for r in self.file_readers[name] if self.nodes[r].pipeline != node.pipeline)
            writer = self.file_writer.get(name)
            if writer is not None and self.nodes[writer].pipeline != node.pipeline:
                node.deps_any.add(writer)
        for name in reads:
            self.file_readers[name].append(node.id)
        for name in writes:
            self.file_writer[name] = node.id
            self.file_readers[name] = []

    def _link(self, lineage: int, a: str, b: str) -> None:
        if a != b:
            links = self.links[lineage]
            links[a].add(b)
            links[b].add(a)

    def _closure(self, lineage: int, versions: set[str]) -> set[str]:
        links = self.links.get(lineage, {})
        seen = set(versions)
        pending = list(versions)
        while pending:
            for other in links.get(pending.pop(), ()):
                if other not in seen:
                    seen.add(other)
                    pending.append(other)
        return seen

    def decide_copies(self) -> None:
        """Copy before mutating when anything other than this lineage's past can see the value,
        and guard what a step reads and is not expected to change wherever another pipeline or a
        reuse of the step observes it (known once every pipeline is in: later ones may observe a
        value too)."""
        if self.copies_decided:
            return
        self.copies_decided = True
        reused = {n.source for n in self.nodes if n.source is not None}
        read_by_reuse = {v for n in self.nodes if n.kind == "reuse" for v in n.reads.values()}
        for node in self.nodes:
            if node.mutated:
                node.copy_before = any(
                    lineage != node.lineage or position > node.position
                    for version in node.mutated_versions
                    for lineage, position in self.observed.get(version, ())
                )
            if node.kind != "exec":
                continue
            node.guarded = frozenset(
                name for name, version in node.reads.items()
                if not name.startswith("@") and name not in node.mutated and (
                    node.id in reused or version in read_by_reuse
                    or any(lineage != node.lineage for lineage, _ in self.observed.get(version, ()))
                )
            )

    def linked_versions(self, node_id: int, names: list[str]) -> set[str]:
        """The versions of ``names`` as node ``node_id`` read them, and those linked with them."""
        node = self.nodes[node_id]
        return self._closure(node.lineage, {node.reads[n] for n in names if n in node.reads})

    def affected_by(self, node_id: int, names: list[str]) -> set[int]:
        """Pipelines that may have seen values ``node_id`` changed unexpectedly: its own, those
        reusing it, and every pipeline observing those values (or objects linked with them)."""
        node = self.nodes[node_id]
        versions = self.linked_versions(node_id, names)
        pipelines = {node.pipeline}
        pipelines |= {n.pipeline for n in self.nodes if n.source == node_id}
        lineages = {lineage for version in versions for lineage, _ in self.observed.get(version, ())}
        pipelines |= {i for i, p in enumerate(self.pipelines) if p.lineage in lineages}
        return pipelines

    # -- queries --------------------------------------------------------------------------
    def unique_steps(self) -> int:
        return len(self.view_ids)

    def captured_steps(self) -> int:
        return self._captured

    def pipelines_by_key(self) -> dict[str, list[str]]:
        users: dict[str, list[str]] = defaultdict(list)
        for node in self.nodes:
            if node.kind != "writeback":
                name = self.pipelines[node.pipeline].name
                if name not in users[node.key]:
                    users[node.key].append(name)
        return users

    def superseded(self) -> set[int]:
        """Reuse nodes of isolated pipelines whose outputs need not travel: a later reuse node of
        the same pipeline rebinds every name they bind before any step of the pipeline's own
        runs (``housing`` loaded, then three shared feature columns added to it: a worker that
        joins after them binds the last version only). Not when a node in between refers to one
        of their values (objects travel as references to what the consumer already holds), when
        they carry the global RNG or settings to replay, or delete names. The next reuse node that
        binds covers them alone: if it cannot bind after all (outputs that cannot be pickled), the
        pipeline runs them and it itself (see :meth:`superseded_runs`)."""
        skipped: set[int] = set()
        for index, pipeline in enumerate(self.pipelines):
            if not pipeline.isolated:
                continue  # kernel cells bind every value: a guard-flagged reuse computes from them
            covered: set[str] = set()
            referenced: set[str] = set()
            for node_id in reversed(self.pipeline_nodes[index]):
                node = self.nodes[node_id]
                if node.kind != "reuse":
                    covered, referenced = set(), set()
                    continue
                if (
                    node.outputs and node.outputs <= covered and not node.rng and not node.step.settings
                    and not node.step.deletes and referenced.isdisjoint(f"{node.key}:{n}" for n in node.outputs)
                ):
                    skipped.add(node_id)
                else:
                    covered = set(node.outputs)
                referenced |= {v for n, v in node.reads.items() if not n.startswith("@") and n not in node.outputs}
        return skipped

    def superseded_runs(self, skipped: set[int]) -> dict[int, list[int]]:
        """For each reuse node that binds, the superseded nodes right before it (in order)."""
        runs: dict[int, list[int]] = {}
        for index in range(len(self.pipelines)):
            run: list[int] = []
            for node_id in self.pipeline_nodes[index]:
                if node_id in skipped:
                    run.append(node_id)
                else:
                    if run:
                        runs[node_id] = run
                    run = []
        return runs

    def shared_with_earlier(self, index: int) -> int:
        """How many steps of pipeline ``index`` merge with steps of earlier pipelines."""
        return sum(1 for i in self.pipeline_nodes[index] if self.key_owner[self.nodes[i].key] < index)

    def explain(self) -> str:
        """Human summary: pipelines, steps captured, unique steps, which are shared by whom."""
        users = self.pipelines_by_key()
        lines = [
            f"{plural(len(self.pipelines), 'pipeline')}, {plural(self.captured_steps(), 'step')} captured, "
            f"{self.unique_steps()} unique after merging"
        ]
        shown = set()
        shared = [n for n in self.nodes if n.kind != "writeback" and len(users[n.key]) > 1]
        if shared:
            lines.append("shared steps:")
        for node in shared:
            if node.key in shown:
                continue
            shown.add(node.key)
            lines.append(f"  ×{len(users[node.key])}  {node.step.label}   ({', '.join(users[node.key])})")
        for pipeline in self.pipelines:
            marks = []
            for i in self.pipeline_nodes[self.pipelines.index(pipeline)]:
                node = self.nodes[i]
                marks.append("=" if len(users[node.key]) > 1 else "+")
            mode = "isolated" if pipeline.isolated else "kernel"
            lines.append(f"  {pipeline.name:<12} {mode:<8} {len(pipeline.steps):>3} steps  {''.join(marks)}")
        lines.append("  (= shared step, + own step)")
        return "\n".join(lines)

    def view(self) -> dict:
        """Graph description for the widget: unique steps as nodes, dataflow as edges."""
        users = self.pipelines_by_key()
        ids = self.view_ids
        nodes = []
        edges = set()
        listed = set()
        for node in self.nodes:
            if node.kind == "writeback":
                continue
            if node.key not in listed:
                listed.add(node.key)
                nodes.append(
                    {
                        "id": ids[node.key], "label": node.step.label, "code": node.step.source,
                        "pipelines": users[node.key], "shared": len(users[node.key]),
                    }
                )
            for version in node.reads.values():
                producer = self.producer.get(version)
                if producer is not None and self.nodes[producer].kind != "writeback":
                    edges.add((ids[self.nodes[producer].key], ids[node.key]))
        for pipeline_nodes in self.pipeline_nodes.values():  # keep each pipeline's order visible
            for a, b in zip(pipeline_nodes, pipeline_nodes[1:]):
                ka, kb = self.nodes[a].key, self.nodes[b].key
                if ka in ids and kb in ids and not any(e[1] == ids[kb] for e in edges):
                    edges.add((ids[ka], ids[kb]))
        return {
            "pipelines": [p.name for p in self.pipelines],
            "nodes": nodes,
            "edges": sorted([list(e) for e in edges if e[0] != e[1]]),
            "captured_steps": self.captured_steps(),
            "unique_steps": self.unique_steps(),
        }

    def node_view_id(self, node_id: int) -> str | None:
        """The widget id of a node (its unique step), or None for internal nodes."""
        node = self.nodes[node_id]
        return self.view_ids.get(node.key) if node.kind != "writeback" else None
