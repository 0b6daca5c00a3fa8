"""Cell text → steps.

Each top-level statement of a cell becomes a :class:`Step` carrying what the batch graph
needs to merge identical work safely: the names it reads, binds and may mutate in place,
which names may end up aliasing each other, and its hidden-state effects (global RNG,
clock, files, dynamic namespace access). The analysis over-approximates on purpose:
an extra read or mutation only costs sharing, a missing one would cost fidelity.
What calls do is looked up in :mod:`.effects`, with callees resolved through the names
bound before the statement (:class:`Context`).
"""

from __future__ import annotations

import __future__ as future_module
import ast
import builtins
import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from types import CodeType

from . import effects
from .effects import (
    ARGV,
    ARGV_METHODS,
    is_process_setter,
    is_process_setting,
    CLOCK_CALLS,
    CONSUMING_BUILTINS,
    DEFAULTDICT,
    DYNAMIC_CALLS,
    DIRECTORY_READERS,
    FILE_MOVERS,
    FILE_READERS,
    FILE_WRITERS,
    FRESH_BUILTINS,
    LOG_EMITTERS,
    LOG_FILE_OPENERS,
    LOGGER,
    GENERATOR_FUNCTION,
    ITERATOR,
    ITERATOR_KEYWORDS,
    ITERATOR_METHODS,
    MUTATOR_FUNCTION,
    PLAIN_FUNCTION,
    PURE_METHODS,
    RECEIVER_METHODS,
    RNG_MODULES,
    RNG_OBJECT,
    RNG_SETUP,
    STATEFUL_KINDS,
    STORING_METHODS,
)

BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class FileAccess:
    """A file the step reads or writes; ``path`` is None when it is only known at run time."""

    mode: str  # "r" or "w"
    path: str | None


@dataclass
class Context:
    """What is known of the names bound before a statement: the library path a name resolves to
    (``np`` → ``numpy``), the stateful kind of its value (an iterator, a random generator, a
    defaultdict, a function that changes its arguments, a logger), string constants (file paths)
    and the log files named so far (None: one named at run time), which every logged record may
    append to."""

    modules: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    log_files: set[str | None] = field(default_factory=set)

    def key(self) -> tuple:
        return (frozenset(self.modules.items()), frozenset(self.kinds.items()), frozenset(self.constants.items()),
                frozenset(self.log_files))

    def apply(self, step: "Step") -> None:
        """Move past ``step``: the names it binds resolve to what it bound them to, or to nothing known."""
        for name in step.writes:
            for table in (self.modules, self.kinds, self.constants):
                table.pop(name, None)
        for name, module, kind in step.resolved:
            if module is not None:
                self.modules[name] = module
            if kind is not None:
                self.kinds[name] = kind
        self.constants.update(step.string_constants)
        self.log_files.update(step.log_files)


@dataclass(frozen=True)
class Step:
    """One top-level statement of a captured cell, with its dataflow facts."""

    index: int
    source: str
    tree: ast.stmt
    lineno: int
    end_lineno: int
    fingerprint: str
    shape: str  # fingerprint with constants blanked: steps of one shape cost alike
    reads: frozenset[str]
    writes: frozenset[str]
    deletes: frozenset[str]
    mutates: frozenset[str]
    aliases: tuple[tuple[str, frozenset[str]], ...]
    lazy: frozenset[str]  # free names of functions/lambdas defined here, read when called
    calls: bool
    rng: bool
    rng_seed: bool
    clock: bool
    dynamic: bool
    files: tuple[FileAccess, ...]
    is_definition: bool
    is_last_expression: bool
    string_constants: tuple[tuple[str, str], ...] = field(default=())
    # Effects of calling what this step defines: globals changed in place and globals rebound.
    lazy_mutates: frozenset[str] = frozenset()
    lazy_writes: frozenset[str] = frozenset()
    resolved: tuple[tuple[str, str | None, str | None], ...] = ()  # bound name → (library path, kind)
    future_flags: int = 0  # compiler flags a `from __future__ import` turns on for what follows
    settings: bool = False  # changes process-wide settings (warnings filters, pandas options, …)
    log_files: tuple[str | None, ...] = ()  # log files it names (a FileHandler, basicConfig(filename=))

    @property
    def label(self) -> str:
        first = self.source.strip().splitlines()[0] if self.source.strip() else ""
        return first if len(first) <= 48 else first[:47] + "…"


def parse_cell(text: str, filename: str) -> ast.Module:
    """Parse cell text, raising SyntaxError with the cell's own filename and line numbers."""
    return ast.parse(text, filename=filename)


def capture_steps(text: str, filename: str, context: Context | None = None) -> list[Step]:
    """Split a cell into analysed steps. ``context``: what is known of the names bound before the
    cell (library modules and callables, stateful values); it is moved past the cell in place."""
    module = parse_cell(text, filename)
    context = context if context is not None else Context()
    steps = []
    body = module.body
    lines = text.splitlines(keepends=True)
    for index, stmt in enumerate(body):
        step = _analyse(stmt, lines, index, context, is_last=index == len(body) - 1)
        steps.append(step)
        context.apply(step)
    return steps


def compile_step(tree: ast.stmt, filename: str, expression: bool, flags: int = 0) -> CodeType:
    """A step's code, compiled with ``flags`` (the kernel's, or those of earlier `__future__`
    imports) and never with this package's own `__future__` imports."""
    if expression:
        return compile(ast.Expression(tree.value), filename, "eval", flags=flags, dont_inherit=True)  # type: ignore[attr-defined]
    return compile(ast.Module([tree], type_ignores=[]), filename, "exec", flags=flags, dont_inherit=True)


FUTURE_FLAGS = 0
for _feature in future_module.all_feature_names:
    FUTURE_FLAGS |= getattr(future_module, _feature).compiler_flag


def kernel_flags(shell: object) -> int:
    """The `__future__` flags IPython compiles the kernel's next cell with (none without a shell)."""
    compiler = getattr(shell, "compile", None)
    return getattr(compiler, "flags", 0) & FUTURE_FLAGS


def future_flags(stmt: ast.stmt) -> int:
    """Compiler flags a ``from __future__ import ...`` statement turns on for later statements."""
    if not (isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"):
        return 0
    flags = 0
    for alias in stmt.names:
        flags |= getattr(getattr(future_module, alias.name, None), "compiler_flag", 0)
    return flags


_HASHES: dict[str, tuple[str, str]] = {}  # statement text → (fingerprint, shape)
_HASHES_KEPT = 200_000


def fingerprint_and_shape(stmt: ast.AST, source: str) -> tuple[str, str]:
    """The statement's fingerprint — a hash of its code, blind to formatting, comments and line
    numbers — and its shape: the same with every literal blanked (``Ridge(alpha=1)`` ~
    ``Ridge(alpha=10)``). Remembered by text: candidates repeat most statements, and dumping
    the syntax tree is most of the cost of capturing a cell."""
    known = _HASHES.get(source)
    if known is None:
        dumped = ast.dump(stmt, annotate_fields=False, include_attributes=False)
        blanked = re.sub(r"Constant\((?:[^()]|\([^()]*\))*\)", "Constant()", dumped)
        known = (hashlib.sha256(dumped.encode()).hexdigest()[:20], hashlib.sha256(blanked.encode()).hexdigest()[:20])
        if len(_HASHES) >= _HASHES_KEPT:
            _HASHES.clear()
        _HASHES[source] = known
    return known


def _source(lines: list[str], stmt: ast.stmt) -> str:
    """The statement's own text (ast.get_source_segment re-splits the whole cell every call)."""
    first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
    if first == last:
        return lines[first].encode()[stmt.col_offset : stmt.end_col_offset].decode()
    head = lines[first].encode()[stmt.col_offset :].decode()
    tail = lines[last].encode()[: stmt.end_col_offset].decode()
    return head + "".join(lines[first + 1 : last]) + tail


_ANALYSES: dict[tuple, Step] = {}  # (statement text, context) → its analysis


def _analyse(stmt: ast.stmt, lines: list[str], index: int, context: Context, is_last: bool) -> Step:
    """A statement's step. Candidates repeat most statements in the same context (the names bound
    to libraries and stateful values, the string constants before it): the analysis is remembered by those."""
    source = _source(lines, stmt)
    key = (source, context.key())
    known = _ANALYSES.get(key)
    if known is None:
        known = _ANALYSES[key] = _analyse_anew(stmt, source, context)
        if len(_ANALYSES) > _HASHES_KEPT:
            _ANALYSES.clear()
    return replace(
        known, index=index, tree=stmt, lineno=stmt.lineno, end_lineno=stmt.end_lineno or stmt.lineno,
        is_last_expression=is_last and isinstance(stmt, ast.Expr),
    )


def _analyse_anew(stmt: ast.stmt, source: str, context: Context) -> Step:
    visitor = _StepVisitor(context)
    visitor.visit(stmt)
    mutates = _expand_aliases(visitor.mutates, visitor.aliases, visitor.holds)
    string_constants = ()
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        value = _static_string(stmt.value, context.constants)
        if value is not None:
            string_constants = ((stmt.targets[0].id, value),)
    is_definition = isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    code_hash, shape = fingerprint_and_shape(stmt, source)
    return Step(
        index=0,
        source=source,
        tree=stmt,
        lineno=stmt.lineno,
        end_lineno=stmt.end_lineno or stmt.lineno,
        fingerprint=code_hash,
        shape=shape,
        reads=frozenset(visitor.reads - BUILTIN_NAMES) | frozenset(visitor.reads & visitor.shadowed_builtins),
        writes=frozenset(visitor.writes),
        deletes=frozenset(visitor.deletes),
        mutates=frozenset(mutates),
        aliases=tuple(  # for the graph, a name holding others may be one object with them
            (t, frozenset(visitor.aliases.get(t, set()) | visitor.holds.get(t, set())))
            for t in {**visitor.aliases, **visitor.holds}
        ),
        lazy=frozenset(visitor.lazy - BUILTIN_NAMES),
        calls=visitor.calls,
        rng=visitor.rng,
        rng_seed=visitor.rng_seed,
        clock=visitor.clock,
        dynamic=visitor.dynamic,
        files=tuple(visitor.files),
        is_definition=is_definition,
        is_last_expression=False,
        string_constants=string_constants,
        lazy_mutates=frozenset(visitor.lazy_mutates),
        lazy_writes=frozenset(visitor.lazy_writes),
        resolved=tuple(sorted((n, m, k) for n, (m, k) in visitor.resolved(stmt).items())),
        future_flags=future_flags(stmt),
        settings=_sets_process_state(stmt, context.modules),
        log_files=tuple(visitor.log_files),
    )


def _sets_process_state(stmt: ast.stmt, modules: dict[str, str]) -> bool:
    """Whether the statement calls a settings function or assigns into a settings object
    anywhere in it (:mod:`.effects`), by the library paths its names were imported as."""
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call) and is_process_setter(_resolve(node.func, modules)):
            return True
        if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            if is_process_setting(_resolve(node.value, modules)):
                return True
    return False


def _expand_aliases(
    mutated: set[str], aliases: dict[str, set[str]], holds: dict[str, set[str]] | None = None,
) -> set[str]:
    """Names aliased inside the same statement are mutated together (``for d in (a, b): d[...] = …``);
    a name that *holds* others (``lst.append(df)``, ``model.fit(X, y)``) changes with them, but
    changing it changes none of them (fitting ``model`` again never writes into ``X``)."""
    result = set(mutated)
    changed = True
    while changed:
        changed = False
        for target, sources in aliases.items():
            linked = {target} | sources
            if result & linked and not linked <= result:
                result |= linked
                changed = True
        for target, held in (holds or {}).items():
            if target not in result and result & held:
                result.add(target)
                changed = True
    return result


def _root_name(node: ast.AST) -> str | None:
    """``df`` for ``df``, ``df["a"]``, ``df.loc[...]``, ``df.a.b`` and ``df.x().y``."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _static_string(node: ast.AST, constants: dict[str, str]) -> str | None:
    """Evaluate a path expression made of string literals, known string names and os.path.join."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Call) and _dotted(node.func) in ("os.path.join", "join") and not node.keywords:
        parts = [_static_string(a, constants) for a in node.args]
        return None if any(p is None for p in parts) else os.path.join(*parts)  # type: ignore[arg-type]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _static_string(node.left, constants), _static_string(node.right, constants)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and not value.format_spec and value.conversion == -1:
                part = _static_string(value.value, constants)
                if part is None:
                    return None
                parts.append(part)
            else:
                return None
        return "".join(parts)
    return None


_PATH_METHODS = frozenset({
    "write_text", "write_bytes", "read_text", "read_bytes", "unlink", "mkdir", "touch", "exists", "is_file", "is_dir",
    "stat",
})


#: Keywords by which readers and writers are given their path (``to_csv(path_or_buf=...)``).
_PATH_KEYWORDS = ("path", "path_or_buf", "filepath_or_buffer", "fname", "file", "filename", "io")


def _argument(node: ast.Call, position: int | None, keywords: tuple[str, ...]) -> ast.AST | None:
    """The call's argument at ``position`` (None: keyword-only), else the first of ``keywords`` it was given."""
    return node.args[position] if position is not None and len(node.args) > position else next(
        (k.value for k in node.keywords if k.arg in keywords), None)


def _path_receiver(receiver: ast.AST) -> ast.AST | None:
    """The path expression of ``Path("x.csv").write_text(...)`` or ``path.write_text(...)``."""
    if isinstance(receiver, ast.Call) and _dotted(receiver.func) in ("Path", "pathlib.Path"):
        return receiver.args[0] if receiver.args else None
    return receiver


def _assigned_names(target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _assigned_names(elt)]
    if isinstance(target, ast.Starred):
        return _assigned_names(target.value)
    return []


def _resolve(node: ast.AST, modules: dict[str, str]) -> str | None:
    """The library path of a callee expression: ``np.random.shuffle`` → ``numpy.random.shuffle``."""
    dotted = _dotted(node)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    base = modules.get(head)
    if base is None:
        return None
    return f"{base}.{rest}" if rest else base


def _builtin(node: ast.AST, context: Context) -> str | None:
    """The builtin a callee names, unless the name is bound to something else."""
    if isinstance(node, ast.Name) and node.id in BUILTIN_NAMES and node.id not in context.modules:
        return node.id
    return None


def _is_method(func: ast.AST, modules: dict[str, str]) -> bool:
    """Whether a callee is a method of an object (``df.fillna``, ``Ridge().fit``), not a function
    reached through a library module (``np.random.shuffle``)."""
    if not isinstance(func, ast.Attribute):
        return False
    return not (isinstance(func.value, (ast.Name, ast.Attribute)) and _resolve(func.value, modules) is not None)


def _call_arguments(node: ast.Call) -> list[ast.AST]:
    return [*node.args, *[k.value for k in node.keywords]]


def _value_names(node: ast.AST, context: Context) -> set[str]:
    """Names whose objects an expression's value may be, contain or view.

    A computed library result (a frame read, a score) is a new object; a library class's
    instance, a view (``np.asarray``) or a builtin wrapper (``enumerate``, ``zip``, ``list``)
    may hold its arguments; an unknown callee may return any of them."""
    if isinstance(node, ast.Subscript):  # an element or a view of the container, never the key
        return _value_names(node.value, context)
    if isinstance(node, ast.Call):
        func = node.func
        arguments = set().union(*(_value_names(a, context) for a in _call_arguments(node)))
        if isinstance(func, ast.Name) and context.kinds.get(func.id) == PLAIN_FUNCTION:
            return arguments
        if _is_method(func, context.modules):
            receiver = _value_names(func.value, context)  # type: ignore[attr-defined]  # a method's result may view its receiver
            if func.attr in STORING_METHODS:  # type: ignore[attr-defined]  # `.fit(X, y)` returns a model that may keep X
                return receiver | arguments
            return receiver if func.attr in PURE_METHODS or func.attr in RECEIVER_METHODS else receiver | arguments  # type: ignore[attr-defined]
        qualified = _resolve(func, context.modules)
        if effects.is_library(qualified):
            return arguments if effects.result_holds_arguments(qualified) else set()  # type: ignore[arg-type]
        builtin = _builtin(func, context)
        if builtin is not None:
            return set() if builtin in FRESH_BUILTINS else arguments
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    if isinstance(node, (ast.Lambda, ast.FunctionDef)):
        return set()
    names: set[str] = set()
    for child in ast.iter_child_nodes(node):
        names |= _value_names(child, context)
    return names


def _held_names(node: ast.AST, context: Context) -> set[str]:
    """Names whose objects a storing method's result holds without being them: the arguments of
    ``Model().fit(X, y)`` (the result is the model), not those of its receiver."""
    if not (isinstance(node, ast.Call) and _is_method(node.func, context.modules)
            and node.func.attr in STORING_METHODS):  # type: ignore[attr-defined]
        return set()
    receiver = _value_names(node.func.value, context)  # type: ignore[attr-defined]
    return set().union(*(_value_names(a, context) for a in _call_arguments(node))) - receiver


@dataclass
class _Frame:
    """What a function body (or lambda) does, collected while visiting it."""

    params: set[str]
    local: set[str] = field(default_factory=set)
    declared_global: set[str] = field(default_factory=set)
    mutated: set[str] = field(default_factory=set)
    aliases: dict[str, set[str]] = field(default_factory=dict)
    loads: set[str] = field(default_factory=set)  # names read, its nested functions' free names too
    yields: bool = False


class _StepVisitor(ast.NodeVisitor):
    """Collects reads, writes, mutations, aliases and effects of one statement."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.modules = context.modules
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.deletes: set[str] = set()
        self.mutates: set[str] = set()
        self.aliases: dict[str, set[str]] = {}
        self.holds: dict[str, set[str]] = {}  # name → names whose objects it now holds (not is)
        self.lazy: set[str] = set()
        self.lazy_mutates: set[str] = set()
        self.lazy_writes: set[str] = set()
        self.shadowed_builtins: set[str] = set()
        self.calls = False
        self.rng = False
        self.rng_seed = False
        self.clock = False
        self.dynamic = False
        self.files: list[FileAccess] = []
        self.log_files: list[str | None] = []
        self.function_kinds: dict[str, str] = {}  # functions defined here that yield / change their arguments
        self._frames: list[_Frame] = []
        self._class_depth = 0
        self._mutating_lambdas: set[int] = set()

    # -- bookkeeping -------------------------------------------------------------------
    def _mutate(self, name: str | None) -> None:
        """``name``'s object may change in place (inside a function: when the function is called)."""
        if name is None:
            return
        if self._frames:
            self._frames[-1].mutated.add(name)
        else:
            self.mutates.add(name)
            self.reads.add(name)

    def _mutate_values(self, node: ast.AST) -> None:
        for name in _value_names(node, self.context):
            if name not in self.modules:
                self._mutate(name)

    def _binds_here(self) -> bool:
        """Names stored now are the step's own (not a function's locals or a class body's)."""
        return not self._frames and not self._class_depth

    def _alias(self, targets: list[str], value: ast.AST, holding: bool = False) -> None:
        """``targets`` may now be (or view) the objects of the names in ``value``; with
        ``holding``, or for the arguments of a storing method's result (``m = Model().fit(X, y)``),
        they hold them instead. (Inside a function body both count as aliases.)"""
        sources = _value_names(value, self.context) - set(self.modules) - BUILTIN_NAMES
        if not sources:
            return
        held = sources if holding else _held_names(value, self.context) & sources
        if self._frames:
            held = set()
        table = self._frames[-1].aliases if self._frames else self.aliases
        for target in targets:
            if sources - held:
                table.setdefault(target, set()).update(sources - held)
            if held:
                self.holds.setdefault(target, set()).update(held)

    def _kind(self, name: str) -> str | None:
        return self.function_kinds.get(name) or self.context.kinds.get(name)

    def _consume(self, node: ast.AST) -> None:
        """Iterating ``node`` now: iterators in it are used up, a random generator drawn from."""
        for name in _value_names(node, self.context):
            if self._kind(name) in (ITERATOR, RNG_OBJECT):
                self._mutate(name)

    def resolved(self, stmt: ast.stmt) -> dict[str, tuple[str | None, str | None]]:
        """What the names this statement binds resolve to afterwards (see :class:`Context`)."""
        result: dict[str, tuple[str | None, str | None]] = {}
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                name = alias.asname or alias.name.split(".")[0]
                result[name] = (alias.name if alias.asname else name, None)
        elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
            for alias in stmt.names:
                if alias.name != "*":
                    result[alias.asname or alias.name] = (f"{stmt.module}.{alias.name}", None)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                kind = self._value_kind(stmt.value)
                if kind is not None:
                    result[targets[0].id] = (None, kind)
        for name, kind in self.function_kinds.items():
            result[name] = (None, kind)
        return {n: r for n, r in result.items() if n in self.writes}

    def _value_kind(self, value: ast.AST) -> str | None:
        if isinstance(value, ast.GeneratorExp):
            return ITERATOR
        if isinstance(value, ast.Name):
            return self._kind(value.id)
        if not isinstance(value, ast.Call):
            return None
        if isinstance(value.func, ast.Attribute) and value.func.attr in ITERATOR_METHODS:
            return ITERATOR
        if isinstance(value.func, ast.Name) and self._kind(value.func.id) == GENERATOR_FUNCTION:
            return ITERATOR
        if any(k.arg in ITERATOR_KEYWORDS and not (isinstance(k.value, ast.Constant) and k.value.value in (None, False, 0))
               for k in value.keywords):
            return ITERATOR  # pd.read_csv(..., chunksize=1000): a reader one consumer uses up
        return effects.kind_of_call(_resolve(value.func, self.modules), _builtin(value.func, self.context))

    # -- names -------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.reads.add(node.id)
            if self._frames:
                self.lazy.add(node.id)
                self._frames[-1].loads.add(node.id)
        elif self._frames:
            frame = self._frames[-1]
            if node.id not in frame.declared_global:
                frame.local.add(node.id)
        elif not self._class_depth:
            if isinstance(node.ctx, ast.Del):
                self.deletes.add(node.id)
            self.writes.add(node.id)
            if node.id in BUILTIN_NAMES:
                self.shadowed_builtins.add(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target, node.value)
            self._alias(_assigned_names(target), node.value)
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target, node.value)
        if node.value is not None:
            self._alias(_assigned_names(node.target), node.value)
            self.visit(node.value)
        self.visit(node.target)
        if not self._frames and not self._class_depth:
            self.visit(node.annotation)  # module-level annotations are evaluated

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target, node.value)
        self._mutate(_root_name(node.target))  # `arr += 1` and `lst += [...]` change the object in place
        self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        if self._binds_here():
            self.writes.add(node.target.id)
        self._alias([node.target.id], node.value)
        self.visit(node.value)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target, None)
            self.visit(target)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name) and self._kind(node.value.id) == DEFAULTDICT:
            self._mutate(node.value.id)  # a missing key is inserted on lookup
        self.generic_visit(node)

    def _target(self, target: ast.AST, value: ast.AST | None) -> None:
        """Subscript/attribute targets mutate the object they hang off, which then holds the value."""
        if isinstance(target, (ast.Subscript, ast.Attribute)):
            root = _root_name(target)
            self._mutate(root)
            if root is not None and value is not None:
                self._alias([root], value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._target(elt, None)
        elif isinstance(target, ast.Starred):
            self._target(target.value, None)

    def visit_For(self, node: ast.For) -> None:
        self._target(node.target, None)
        self._alias(_assigned_names(node.target), node.iter)
        self._consume(node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._target(node.optional_vars, None)
            self._alias(_assigned_names(node.optional_vars), node.context_expr)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self._binds_here():
                self.writes.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.dynamic = True
            elif self._binds_here():
                self.writes.add(alias.asname or alias.name)

    def visit_Global(self, node: ast.Global) -> None:
        # `global x` inside a function: calling it reads and may rebind x in the caller's namespace.
        self.lazy.update(node.names)
        self.reads.update(node.names)
        if self._frames:
            self._frames[-1].declared_global.update(node.names)
            self._frames[-1].local.difference_update(node.names)
        self.lazy_writes.update(node.names)

    visit_Nonlocal = visit_Global

    def visit_Yield(self, node: ast.AST) -> None:
        if self._frames:
            self._frames[-1].yields = True
        self.generic_visit(node)

    visit_YieldFrom = visit_Yield

    # -- scopes --------------------------------------------------------------------------
    def _function(self, node: ast.AST, name: str | None) -> None:
        if name and self._binds_here():
            self.writes.add(name)
        decorators = getattr(node, "decorator_list", [])
        for decorator in decorators:
            self.visit(decorator)
        if decorators:  # applied now: each is called with the function
            self.calls = True
        args = getattr(node, "args", None)
        params: set[str] = set()
        if args is not None:
            for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
                self.visit(default)
            params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        frame = _Frame(params=params)
        self._frames.append(frame)
        before = set(self.lazy)
        class_depth, self._class_depth = self._class_depth, 0
        for stmt in node.body if isinstance(node.body, list) else [node.body]:
            self.visit(stmt)
        self._class_depth = class_depth
        self._frames.pop()
        self.lazy = before | (self.lazy - params)
        mutated = _expand_aliases(frame.mutated, frame.aliases)
        changes_arguments = bool(mutated & params)
        reached = mutated - params - frame.local  # globals it changes in place when called
        free = frame.loads - params - frame.local
        if self._frames:
            self._frames[-1].mutated |= reached  # a nested function: its caller's effects
            self._frames[-1].loads |= free
        else:
            self.lazy_mutates |= reached
            if isinstance(node, ast.Lambda):
                self.mutates |= reached  # a lambda is usually called by the statement defining it
                if changes_arguments:
                    self._mutating_lambdas.add(id(node))
            elif name and not self._class_depth:
                kind = GENERATOR_FUNCTION if frame.yields else MUTATOR_FUNCTION if changes_arguments else None
                if kind is None and not reached and not frame.declared_global and free <= set(self.modules) | BUILTIN_NAMES:
                    kind = PLAIN_FUNCTION
                if kind is not None:
                    self.function_kinds[name] = kind

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._function(node, None)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if self._binds_here():
            self.writes.add(node.name)
        for expr in [*node.bases, *[k.value for k in node.keywords], *node.decorator_list]:
            self.visit(expr)
        # The class body runs now (its names are the class's own; decorators are called); its
        # methods run when called.
        self.calls = True
        self._class_depth += 1
        for stmt in node.body:
            self.visit(stmt)
        self._class_depth -= 1

    def visit_ListComp(self, node: ast.AST) -> None:
        # Comprehension targets are local to it and alias the elements they iterate over.
        local = {n for g in node.generators for n in _assigned_names(g.target)}  # type: ignore[attr-defined]
        for generator in node.generators:  # type: ignore[attr-defined]
            self._alias(_assigned_names(generator.target), generator.iter)
            self._consume(generator.iter)
        writes_before = set(self.writes)
        self.generic_visit(node)
        self.writes = writes_before | (self.writes - local)

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    # -- calls -----------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _resolve(node, self.modules) == "sys.argv":
            self.reads.add(ARGV)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.calls = True
        dotted = _dotted(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if (_resolve(node.func, self.modules) or "").startswith("argparse.") or attr in ARGV_METHODS:
            self.reads.add(ARGV)
        self._effects(node, dotted, attr)
        self._call_mutations(node, attr)
        self.generic_visit(node)

    def _effects(self, node: ast.Call, dotted: str | None, attr: str | None) -> None:
        resolved = _resolve(node.func, self.context.modules) or ""  # `from tempfile import mkdtemp` too
        if resolved in CLOCK_CALLS:
            self.clock = True
        if dotted:
            head = dotted.rsplit(".", 1)[0] if "." in dotted else ""
            last = dotted.rsplit(".", 1)[-1]
            if head in RNG_MODULES and last not in RNG_SETUP:
                self.rng = True
                self.rng_seed |= last == "seed"
            if dotted in CLOCK_CALLS or last in ("now", "today", "utcnow"):
                self.clock = True
            if dotted in DYNAMIC_CALLS or last == "chdir":
                self.dynamic = True
        name = attr or dotted
        if name in DIRECTORY_READERS:
            self.files.append(FileAccess("r", None))  # depends on every write before it
        for position, keyword, mode in FILE_MOVERS.get(resolved, ()):
            self._file_access(mode, _argument(node, position, (keyword,)))
        if name in FILE_READERS or name in FILE_WRITERS or dotted == "open":
            mode = "w" if name in FILE_WRITERS else "r"
            position = 1 if name in ("dump",) else 0
            if dotted == "open" or name == "open":
                mode_arg = _argument(node, 1, ("mode",))
                mode_text = mode_arg.value if isinstance(mode_arg, ast.Constant) else "r"
                mode = "w" if any(c in str(mode_text) for c in "wax+") else "r"
            path_node = _argument(node, position, _PATH_KEYWORDS)
            if name in _PATH_METHODS and isinstance(node.func, ast.Attribute):
                path_node = _path_receiver(node.func.value)
            self._file_access(mode, path_node)
        self._logging(node, resolved, attr)

    def _logging(self, node: ast.Call, resolved: str, attr: str | None) -> None:
        """A call naming a log file writes it (a handler opens it now); a record logged later
        writes every log file named before, by this statement or an earlier one of the cell."""
        opener = LOG_FILE_OPENERS.get(resolved)
        if opener is not None:
            path_node = _argument(node, *opener[:1], (opener[1],))
            if path_node is not None:  # basicConfig without a filename logs to a stream
                self.log_files.append(self._file_access("w", path_node))
        if self._logs_record(node, resolved, attr):
            for path in {*self.context.log_files, *self.log_files}:
                self.files.append(FileAccess("w", path))

    def _logs_record(self, node: ast.Call, resolved: str, attr: str | None) -> bool:
        """``logging.info(...)``, ``log.warning(...)`` on a logger, ``logging.getLogger(n).error(...)``,
        ``logging.shutdown()``."""
        if resolved == "logging.shutdown":
            return True  # flushes every handler
        if (attr or resolved.rpartition(".")[2]) not in LOG_EMITTERS:
            return False
        if resolved.startswith("logging.") and resolved.count(".") == 1:
            return True  # `logging.info(...)`, `from logging import info` too
        if attr is None:
            return False
        receiver = node.func.value  # type: ignore[attr-defined]
        if isinstance(receiver, ast.Name):
            return self._kind(receiver.id) == LOGGER
        return isinstance(receiver, ast.Call) and effects.kind_of_call(_resolve(receiver.func, self.modules), None) == LOGGER

    def _file_access(self, mode: str, path_node: ast.AST | None) -> str | None:
        """The step reads (``"r"``) or writes (``"w"``) the file ``path_node`` names (None: a path
        known only at run time); returns the path."""
        path = _static_string(path_node, self.context.constants) if path_node is not None else None
        access = FileAccess(mode, os.path.normpath(path) if path else None)
        self.files.append(access)
        return access.path

    def _call_mutations(self, node: ast.Call, attr: str | None) -> None:
        """What a call may change: cautious unless :mod:`.effects` knows the callee better."""
        arguments = _call_arguments(node)
        for keyword in node.keywords:
            if keyword.arg == "out":
                self._mutate_values(keyword.value)  # numpy writes the result into `out`
        builtin = _builtin(node.func, self.context)
        if builtin not in FRESH_BUILTINS or builtin in CONSUMING_BUILTINS:
            for argument in arguments:
                self._consume(argument)
        if any(
            id(a) in self._mutating_lambdas or (isinstance(a, ast.Name) and self._kind(a.id) == MUTATOR_FUNCTION)
            for a in arguments
        ):
            for argument in arguments:  # it is handed a function that changes its arguments
                self._mutate_values(argument)
        inplace = any(
            k.arg in effects.INPLACE_KEYWORDS and not (isinstance(k.value, ast.Constant) and k.value.value is False)
            for k in node.keywords
        )
        if attr is not None and _is_method(node.func, self.modules):
            receiver = node.func.value  # type: ignore[attr-defined]
            root = _root_name(receiver)
            if attr in LOG_EMITTERS and self._kind(root or "") == LOGGER:
                return  # formats its arguments, changes nothing (its files: see _logging)
            if inplace or attr not in PURE_METHODS or self._kind(root or "") in STATEFUL_KINDS:
                if isinstance(receiver, ast.Call):
                    self._mutate_values(receiver)  # `get_frame(df).drop(..., inplace=True)` may change df
                elif root not in self.modules:
                    self._mutate(root)
            if attr in STORING_METHODS and root is not None and not isinstance(receiver, ast.Call):
                for argument in arguments:  # the receiver now holds these objects
                    self._alias([root], argument, holding=True)
            if attr not in PURE_METHODS and attr not in RECEIVER_METHODS:
                for argument in arguments:
                    self._mutate_values(argument)
            return
        qualified = _resolve(node.func, self.modules)
        if effects.is_library(qualified):
            for position in effects.mutated_positions(qualified):  # type: ignore[arg-type]
                if position < len(node.args):
                    self._mutate_values(node.args[position])
            return
        if builtin is not None:
            if builtin == "next" and node.args:
                self._mutate_values(node.args[0])
            return
        if isinstance(node.func, ast.Name) and self._kind(node.func.id) == PLAIN_FUNCTION:
            return
        for argument in arguments:  # an unknown callable may change (and keep) its arguments
            self._mutate_values(argument)

