"""Cell text → steps.

Each top-level statement of a cell becomes a :class:`Step` carrying what the batch graph
needs to merge identical work safely: the names it reads, binds and may mutate in place,
which names may end up aliasing each other, and its hidden-state effects (global RNG,
clock, files, dynamic namespace access). The analysis over-approximates on purpose:
an extra read or mutation only costs sharing, a missing one would cost fidelity.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import os
import re
from dataclasses import dataclass, field, replace

from .purity import (
    CLOCK_CALLS,
    DYNAMIC_CALLS,
    FILE_READERS,
    FILE_WRITERS,
    MUTATING_FUNCTIONS,
    PURE_BUILTINS,
    PURE_METHODS,
    RNG_MODULES,
    VIEW_FUNCTIONS,
)

BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class FileAccess:
    """A file the step reads or writes; ``path`` is None when it is only known at run time."""

    mode: str  # "r" or "w"
    path: str | None


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

    @property
    def label(self) -> str:
        first = self.source.strip().splitlines()[0] if self.source.strip() else ""
        return first if len(first) <= 48 else first[:47] + "…"


def parse_cell(text: str, filename: str) -> ast.Module:
    """Parse cell text, raising SyntaxError with the cell's own filename and line numbers."""
    return ast.parse(text, filename=filename)


def capture_steps(text: str, filename: str, known_libraries: set[str] | None = None) -> list[Step]:
    """Split a cell into analysed steps. ``known_libraries``: names bound to library modules or
    callables before this cell (their calls do not mutate arguments)."""
    module = parse_cell(text, filename)
    libraries = set(known_libraries or ())
    constants: dict[str, str] = {}
    steps = []
    body = module.body
    lines = text.splitlines(keepends=True)
    for index, stmt in enumerate(body):
        step = _analyse(stmt, lines, index, libraries, constants, is_last=index == len(body) - 1)
        steps.append(step)
        constants.update(dict(step.string_constants))
        for name in step.writes:
            if name not in dict(step.string_constants):
                constants.pop(name, None)
    return steps


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


_ANALYSES: dict[tuple, Step] = {}  # (statement text, libraries, constants) → its analysis


def _analyse(
    stmt: ast.stmt, lines: list[str], index: int, libraries: set[str], constants: dict[str, str], is_last: bool
) -> Step:
    """A statement's step. Candidates repeat most statements in the same context (the names bound
    to libraries, the string constants before it): the analysis is remembered by those."""
    source = _source(lines, stmt)
    context = (source, frozenset(libraries), frozenset(constants.items()))
    known = _ANALYSES.get(context)
    if known is None:
        known = _ANALYSES[context] = _analyse_anew(stmt, source, libraries, constants)
        if len(_ANALYSES) > _HASHES_KEPT:
            _ANALYSES.clear()
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        libraries.update(known.writes)
    return replace(
        known, index=index, tree=stmt, lineno=stmt.lineno, end_lineno=stmt.end_lineno or stmt.lineno,
        is_last_expression=is_last and isinstance(stmt, ast.Expr),
    )


def _analyse_anew(stmt: ast.stmt, source: str, libraries: set[str], constants: dict[str, str]) -> Step:
    visitor = _StepVisitor(libraries, constants)
    visitor.visit(stmt)
    mutates = _expand_aliases(visitor.mutates, visitor.aliases)
    string_constants = ()
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        value = _static_string(stmt.value, constants)
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
        aliases=tuple((t, frozenset(s)) for t, s in {**visitor.contains, **visitor.aliases}.items()),
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
    )


def _expand_aliases(mutated: set[str], aliases: dict[str, set[str]]) -> set[str]:
    """Names aliased inside the same statement are mutated together (``for d in (a, b): d[...] = …``)."""
    result = set(mutated)
    changed = True
    while changed:
        changed = False
        for target, sources in aliases.items():
            linked = {target} | sources
            if result & linked and not linked <= result:
                result |= linked
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


_PATH_METHODS = frozenset({"write_text", "write_bytes", "read_text", "read_bytes", "unlink", "mkdir", "touch"})


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


def _value_names(node: ast.AST, libraries: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """Names whose objects an expression's value may be (or contain, or view).

    A library function's result is a new object, except for the few that may hand back
    their argument or a view of it (``np.asarray``, ``pd.DataFrame(arr)``)."""
    if isinstance(node, ast.Call):
        root = _root_name(node.func)
        last = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if isinstance(node.func, ast.Attribute) and _root_name(node.func.value) not in libraries:
            return _value_names(node.func.value, libraries)  # a method's result may view its receiver
        if (root in libraries or last in PURE_BUILTINS) and last not in VIEW_FUNCTIONS:
            return set()
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    names: set[str] = set()
    for child in ast.iter_child_nodes(node):
        names |= _value_names(child, libraries)
    return names


class _StepVisitor(ast.NodeVisitor):
    """Collects reads, writes, mutations, aliases and effects of one statement."""

    def __init__(self, libraries: set[str], constants: dict[str, str]) -> None:
        self.libraries = libraries
        self.constants = constants
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.deletes: set[str] = set()
        self.mutates: set[str] = set()
        self.aliases: dict[str, set[str]] = {}
        self.contains: dict[str, set[str]] = {}
        self.lazy: set[str] = set()
        self.shadowed_builtins: set[str] = set()
        self.calls = False
        self.rng = False
        self.rng_seed = False
        self.clock = False
        self.dynamic = False
        self.files: list[FileAccess] = []
        self._function_depth = 0

    # -- names -------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.reads.add(node.id)
            if self._function_depth:
                self.lazy.add(node.id)
        elif self._function_depth == 0:
            if isinstance(node.ctx, ast.Del):
                self.deletes.add(node.id)
            self.writes.add(node.id)
            if node.id in BUILTIN_NAMES:
                self.shadowed_builtins.add(node.id)

    def _alias(self, targets: list[str], value: ast.AST) -> None:
        sources = _value_names(value, self.libraries) - self.libraries - BUILTIN_NAMES
        if self._function_depth == 0:
            for target in targets:
                self.aliases.setdefault(target, set()).update(sources)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target)
            self._alias(_assigned_names(target), node.value)
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target)
        if node.value is not None:
            self._alias(_assigned_names(node.target), node.value)
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target)
        root = _root_name(node.target)
        if root and self._function_depth == 0:
            self.mutates.add(root)  # `arr += 1` and `lst += [...]` change the object in place
            self.reads.add(root)
        self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        if self._function_depth == 0:
            self.writes.add(node.target.id)
            self._alias([node.target.id], node.value)
        self.visit(node.value)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target)
            self.visit(target)

    def _target(self, target: ast.AST) -> None:
        """Subscript/attribute targets mutate the object they hang off."""
        if isinstance(target, (ast.Subscript, ast.Attribute)):
            root = _root_name(target)
            if root and self._function_depth == 0:
                self.mutates.add(root)
                self.reads.add(root)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._target(elt)
        elif isinstance(target, ast.Starred):
            self._target(target.value)

    def visit_For(self, node: ast.For) -> None:
        self._target(node.target)
        self._alias(_assigned_names(node.target), node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._target(node.optional_vars)
            self._alias(_assigned_names(node.optional_vars), node.context_expr)
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self._function_depth == 0:
                self.writes.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.dynamic = True
            elif self._function_depth == 0:
                self.writes.add(alias.asname or alias.name)

    def visit_Global(self, node: ast.Global) -> None:
        # `global x` inside a function: calling it rebinds x in the caller's namespace.
        self.lazy.update(node.names)
        self.reads.update(node.names)

    visit_Nonlocal = visit_Global

    # -- scopes --------------------------------------------------------------------------
    def _function(self, node: ast.AST, name: str | None) -> None:
        if name and self._function_depth == 0:
            self.writes.add(name)
        for decorator in getattr(node, "decorator_list", []):
            self.visit(decorator)
        args = getattr(node, "args", None)
        if args is not None:
            for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
                self.visit(default)
        self._function_depth += 1
        params = set()
        if args is not None:
            params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        body = node.body if isinstance(node.body, list) else [node.body]
        before = set(self.lazy)
        for stmt in body:
            self.visit(stmt)
        self.lazy = before | (self.lazy - params)
        self._function_depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._function(node, None)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if self._function_depth == 0:
            self.writes.add(node.name)
        for expr in [*node.bases, *[k.value for k in node.keywords], *node.decorator_list]:
            self.visit(expr)
        # Method bodies read globals when called; the class body itself runs now.
        self._function_depth += 1
        for stmt in node.body:
            self.visit(stmt)
        self._function_depth -= 1

    def _comprehension(self, node: ast.AST) -> None:
        # Comprehension targets are local to it; everything else reads the enclosing scope.
        self.generic_visit(node)

    def visit_ListComp(self, node: ast.AST) -> None:
        local = {n for g in node.generators for n in _assigned_names(g.target)}  # type: ignore[attr-defined]
        writes_before = set(self.writes)
        self._comprehension(node)
        self.writes = writes_before | (self.writes - local)

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    # -- calls -----------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        self.calls = True
        dotted = _dotted(node.func)
        root = _root_name(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
        self._effects(node, dotted, root, attr)
        if self._function_depth == 0:
            self._call_mutations(node, dotted, root, attr)
        self.generic_visit(node)

    def _effects(self, node: ast.Call, dotted: str | None, root: str | None, attr: str | None) -> None:
        if dotted:
            head = dotted.rsplit(".", 1)[0] if "." in dotted else ""
            last = dotted.rsplit(".", 1)[-1]
            if head in RNG_MODULES:
                if last not in ("default_rng", "RandomState", "Generator", "SeedSequence", "PCG64", "Random"):
                    self.rng = True
                    self.rng_seed |= last == "seed"
            if dotted in CLOCK_CALLS or last in ("now", "today", "utcnow"):
                self.clock = True
            if dotted in DYNAMIC_CALLS or last == "chdir":
                self.dynamic = True
        name = attr or dotted
        if name in FILE_READERS or name in FILE_WRITERS or dotted == "open":
            mode = "w" if name in FILE_WRITERS else "r"
            position = 1 if name in ("dump",) else 0
            if dotted == "open" or name == "open":
                mode_arg = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "mode"), None
                )
                mode_text = mode_arg.value if isinstance(mode_arg, ast.Constant) else "r"
                mode = "w" if any(c in str(mode_text) for c in "wax+") else "r"
            path_node = node.args[position] if len(node.args) > position else next(
                (k.value for k in node.keywords if k.arg in ("path", "path_or_buf", "filepath_or_buffer", "fname", "file", "filename", "io")),
                None,
            )
            if name in _PATH_METHODS and isinstance(node.func, ast.Attribute):
                path_node = _path_receiver(node.func.value)
            path = _static_string(path_node, self.constants) if path_node is not None else None
            self.files.append(FileAccess(mode, os.path.normpath(path) if path else None))

    def _call_mutations(self, node: ast.Call, dotted: str | None, root: str | None, attr: str | None) -> None:
        inplace = any(k.arg == "inplace" and not (isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords)
        if attr is not None:
            receiver = _root_name(node.func.value)  # type: ignore[attr-defined]
            if receiver and receiver not in self.libraries:
                if inplace or attr not in PURE_METHODS:
                    self.mutates.add(receiver)
                    self.reads.add(receiver)
                    if attr in ("append", "extend", "insert", "add", "update", "setdefault", "appendleft"):
                        # The container now holds these objects: later mutation through it reaches them.
                        self.contains.setdefault(receiver, set()).update(
                            n for a in [*node.args, *[k.value for k in node.keywords]] for n in _value_names(a, self.libraries)
                            if n not in self.libraries
                        )
                return
        if dotted in MUTATING_FUNCTIONS or (root and root not in self.libraries and dotted not in PURE_BUILTINS):
            # An unknown callable may mutate (and keep references to) its arguments.
            for arg in [*node.args, *[k.value for k in node.keywords]]:
                name = _root_name(arg)
                if name and name not in self.libraries and name not in BUILTIN_NAMES:
                    self.mutates.add(name)
                    self.reads.add(name)
