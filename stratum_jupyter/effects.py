"""The one knowledge base of what calls do: which are known not to change their arguments, which
write into them, which hand back (or keep) references to them, and which touch hidden state.

Capture consults it with callees resolved to what they are: ``np.copyto`` is ``numpy.copyto``
after ``import numpy as np``, ``shuffle`` is ``random.shuffle`` or ``sklearn.utils.shuffle``
depending on the import that bound it, and a kernel name resolves to its object's module.
Anything not described here is treated cautiously: an unknown function may change its arguments,
anything reachable from them and the globals it can reach; an unknown method may change its
receiver and its arguments. A run-time guard (:mod:`.guard`) catches what this table gets wrong.
"""

from __future__ import annotations

import ast
import builtins
import dis
import sys
import types
from collections.abc import Mapping

from .streams import StepOutput, capturing

# Top-level modules whose functions never write into their arguments unless listed in
# MUTATING_FUNCTIONS (or given ``out=``): numpy, pandas and scikit-learn document every exception.
LIBRARY_ROOTS = frozenset(
    """
    pandas numpy sklearn scipy math statistics json os re time datetime collections itertools functools
    random pathlib warnings joblib lightgbm xgboost pickle csv string typing dataclasses operator builtins
    pyarrow heapq bisect copy decimal fractions textwrap glob shutil hashlib uuid secrets matplotlib seaborn
    logging
    """.split()
)

# (root module, function name) → positions of the arguments the function writes into.
MUTATING_FUNCTIONS: dict[tuple[str, str], tuple[int, ...]] = {
    **{("numpy", name): (0,) for name in ("copyto", "put", "place", "fill_diagonal", "put_along_axis", "putmask", "shuffle")},
    ("random", "shuffle"): (0,),
    **{("heapq", name): (0,) for name in ("heappush", "heappop", "heapify", "heapreplace", "heappushpop")},
    **{("bisect", name): (0,) for name in ("insort", "insort_left", "insort_right")},
}

# Library callables whose result holds references to their arguments (besides classes, whose
# instances usually keep what they were built with: ``Pipeline([("m", model)])``).
HOLDING_FUNCTIONS = frozenset(
    {
        "make_pipeline", "make_union", "make_column_transformer", "check_random_state", "partial", "chain",
        "islice", "cycle", "repeat", "tee", "zip_longest", "product", "combinations", "permutations", "groupby",
        "accumulate", "starmap", "filterfalse", "takewhile", "dropwhile", "compress", "count",
    }
)

# Library functions whose result may be (or view) their argument.
VIEW_FUNCTIONS = frozenset(
    {
        "asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "DataFrame", "Series", "frombuffer",
        "atleast_1d", "atleast_2d", "atleast_3d", "squeeze", "ravel", "reshape", "transpose", "broadcast_to",
        "as_strided", "view", "array", "Index",
    }
)

# Methods that never change their receiver or arguments (unless called with ``inplace=True``).
PURE_METHODS = frozenset(
    """
    head tail copy describe info mean sum std var min max median mode quantile prod count nunique unique
    value_counts groupby agg aggregate apply map applymap transform filter rolling expanding ewm resample
    astype fillna dropna drop drop_duplicates duplicated rename reset_index set_index reindex sort_values
    sort_index query eval assign pipe merge join concat combine_first where mask clip abs round isna isnull
    notna notnull isin between corr cov select_dtypes to_numpy to_list tolist to_dict to_frame to_string
    to_csv to_parquet to_json to_pickle to_excel to_feather to_markdown to_records items iterrows itertuples
    keys values get cumsum cumprod cummax cummin diff shift pct_change rank nlargest nsmallest idxmax idxmin
    argmax argmin argsort any all dot reshape ravel flatten squeeze transpose equals memory_usage replace
    melt pivot pivot_table stack unstack explode sample interpolate factorize get_dummies str dt cat
    predict predict_proba predict_log_proba decision_function score score_samples get_params
    get_feature_names_out inverse_transform split strip lstrip rstrip lower upper title startswith endswith
    format encode decode find index first last nth size len contains
    """.split()
)

# Methods that change their receiver only (scikit-learn's ``fit`` never writes into X or y).
RECEIVER_METHODS = frozenset(
    """
    fit partial_fit fit_transform fit_predict set_params set_output append extend insert add update setdefault
    appendleft extendleft pop popitem popleft remove discard clear sort reverse rotate
    """.split()
)

# Keyword arguments that make any method change its receiver (``df.fillna(0, inplace=True)``).
INPLACE_KEYWORDS = frozenset({"inplace"})

# Methods after which the receiver holds their arguments: later changes through it reach them
# (a fitted k-neighbours model keeps the very array it was fitted on).
STORING_METHODS = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft", "fit", "partial_fit"}
)

# Builtins whose result never references their arguments and that change none of them.
FRESH_BUILTINS = frozenset(
    """
    print len isinstance issubclass str int float bool complex bytes repr ascii hash id abs round range type
    callable hasattr format chr ord bin hex oct divmod pow display open sum any all
    """.split()
)

# Builtins that iterate their arguments now: an iterator or generator passed to them is used up.
CONSUMING_BUILTINS = frozenset({"list", "tuple", "set", "frozenset", "dict", "sorted", "sum", "min", "max", "any", "all", "next"})

# Builtins whose result is a one-shot iterator over their arguments, and methods returning one.
ITERATOR_BUILTINS = frozenset({"iter", "map", "filter", "zip", "enumerate", "reversed", "open"})
ITERATOR_METHODS = frozenset({"iterrows", "itertuples", "items", "__iter__"})
# Keywords that make a reader return chunks one at a time (pandas' readers).
ITERATOR_KEYWORDS = frozenset({"chunksize", "iterator"})

# Constructors of objects whose every method call (a draw) advances them.
RNG_CONSTRUCTORS = frozenset({"default_rng", "RandomState", "Generator", "Random", "check_random_state", "SystemRandom"})

# Modules whose module-level functions draw from (or seed) a process-global RNG.
RNG_MODULES = frozenset({"np.random", "numpy.random", "random"})
RNG_SETUP = frozenset({"default_rng", "RandomState", "Generator", "SeedSequence", "PCG64", "Random", "MT19937", "SystemRandom"})

# Calls whose result differs on every call (clocks, random ids, new temporary files), by the name
# written or the library path: a step making one is never shared.
CLOCK_CALLS = frozenset(
    {
        "time.time", "time.time_ns", "time.perf_counter", "time.perf_counter_ns", "time.monotonic",
        "time.process_time", "time.localtime", "time.gmtime", "time.ctime", "datetime.now",
        "datetime.datetime.now", "datetime.utcnow", "datetime.today", "date.today", "datetime.date.today",
        "pd.Timestamp.now", "pd.Timestamp.today", "uuid.uuid4", "uuid.uuid1", "os.urandom", "secrets.token_hex",
        # a new file or directory each call: shared, two pipelines would write into one
        "tempfile.mkdtemp", "tempfile.mkstemp", "tempfile.mktemp", "tempfile.NamedTemporaryFile",
        "tempfile.TemporaryDirectory", "tempfile.TemporaryFile", "tempfile.SpooledTemporaryFile",
    }
)

# Calls that read or rebind names the analysis cannot see.
DYNAMIC_CALLS = frozenset({"globals", "locals", "vars", "exec", "eval", "__import__", "setattr", "delattr", "os.chdir", "get_ipython"})

FILE_READERS = frozenset(
    {
        "read_csv", "read_table", "read_parquet", "read_json", "read_excel", "read_pickle", "read_feather",
        "read_fwf", "read_hdf", "read_orc", "read_sql", "load", "loadtxt", "genfromtxt", "fromfile", "read_text",
        "read_bytes", "load_svmlight_file", "load_model", "read_html", "read_xml", "read_stata", "read_sas",
        # checks of a path's state: "compute once" caches test whether a file exists yet
        "exists", "lexists", "isfile", "isdir", "is_file", "is_dir", "getsize", "getmtime", "stat",
    }
)
#: Calls that read a directory (or a pattern of paths): they see every file written before them.
DIRECTORY_READERS = frozenset({"listdir", "scandir", "walk", "glob", "iglob", "rglob", "iterdir"})
FILE_WRITERS = frozenset(
    {
        "to_csv", "to_parquet", "to_json", "to_pickle", "to_excel", "to_feather", "to_hdf", "to_orc", "save",
        "savez", "savez_compressed", "savetxt", "tofile", "dump", "write_text", "write_bytes", "makedirs",
        "mkdir", "remove", "unlink", "rmtree", "rename_file", "savefig", "touch", "save_model", "to_html",
        "to_markdown", "to_latex", "to_xml", "to_stata",
    }
)

#: Functions that move, copy, link or remove files, by library path → (argument position or
#: keyword, mode) of each path they touch: a move writes both ends (the source goes away).
_MOVE = ((0, "src", "w"), (1, "dst", "w"))
_COPY = ((0, "src", "r"), (1, "dst", "w"))
FILE_MOVERS: dict[str, tuple[tuple[int, str, str], ...]] = {
    "os.rename": _MOVE, "os.replace": _MOVE, "os.renames": ((0, "old", "w"), (1, "new", "w")),
    "shutil.move": _MOVE, "shutil.copy": _COPY, "shutil.copy2": _COPY, "shutil.copyfile": _COPY,
    "shutil.copytree": _COPY, "os.link": _COPY, "os.symlink": _COPY,
    "os.rmdir": ((0, "path", "w"),), "os.removedirs": ((0, "name", "w"),), "os.truncate": ((0, "path", "w"),),
}

#: Calls that name a log file, by library path → (argument position, or None, and keyword) of the
#: path: a handler appends to it whenever a record is logged, far from the statement naming it.
LOG_FILE_OPENERS: dict[str, tuple[int | None, str]] = {
    "logging.basicConfig": (None, "filename"), "logging.FileHandler": (0, "filename"),
    "logging.handlers.RotatingFileHandler": (0, "filename"),
    "logging.handlers.TimedRotatingFileHandler": (0, "filename"),
    "logging.handlers.WatchedFileHandler": (0, "filename"),
}
#: Functions of ``logging`` and methods of its loggers that log a record (to every handler).
LOG_EMITTERS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"})
#: Calls returning a logger, whose emitting methods write the pipeline's log files.
LOGGER_CONSTRUCTORS = frozenset({"logging.getLogger", "logging.LoggerAdapter", "logging.Logger"})

#: The command line a pipeline sees (``sys.argv``), as a name its steps read: a script's own
#: (``python SCRIPT``), or the kernel's for a cell. ``argparse`` reads it when a parser is made
#: (``prog``) and when it parses.
ARGV = "@argv"
ARGV_METHODS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args", "parse_known_intermixed_args"})

# Library functions that change process-wide settings — the warnings filters, pandas' and numpy's
# options, scikit-learn's configuration, logging — and settings objects whose items or attributes
# are assigned (``pd.options.display.max_rows = 4``, ``os.environ["X"] = "1"``): state no value
# carries, which every later statement of the pipeline may depend on, wherever it runs.
PROCESS_SETTERS = (
    ("warnings", "filterwarnings"), ("warnings", "simplefilter"), ("warnings", "resetwarnings"),
    ("pandas", "set_option"), ("pandas", "reset_option"), ("sklearn", "set_config"),
    ("numpy", "seterr"), ("numpy", "set_printoptions"), ("numpy", "seterrcall"),
    ("logging", "basicConfig"), ("logging", "disable"), ("matplotlib", "use"), ("matplotlib", "rc"),
    ("seaborn", "set"), ("seaborn", "set_theme"), ("seaborn", "set_style"), ("seaborn", "set_context"),
)
PROCESS_SETTINGS = (("pandas", "options"), ("os", "environ"), ("matplotlib", "rcParams"))

# Kinds of values whose reads change them (capture tracks them per name).
ITERATOR, RNG_OBJECT, DEFAULTDICT = "iterator", "rng", "defaultdict"
LOGGER = "logger"  # not stateful: logging a record changes neither the logger nor its arguments
# Kinds of functions defined in cells: calling them yields an iterator / changes their arguments /
# neither, nor any global, and reads nothing but its arguments, libraries and builtins (its result
# is new objects, or holds its arguments: a helper that builds a scikit-learn pipeline).
GENERATOR_FUNCTION, MUTATOR_FUNCTION = "generator-function", "mutator-function"
PLAIN_FUNCTION = "plain-function"
STATEFUL_KINDS = frozenset({ITERATOR, RNG_OBJECT, DEFAULTDICT})


def root_and_name(qualified: str) -> tuple[str, str]:
    """``("numpy", "copyto")`` for ``numpy.copyto`` and ``numpy.random.mtrand.shuffle``."""
    parts = qualified.split(".")
    return parts[0], parts[-1]


def is_library(qualified: str | None) -> bool:
    """Whether a resolved callee belongs to a library whose conventions this table describes."""
    return qualified is not None and qualified.split(".")[0] in LIBRARY_ROOTS


def mutated_positions(qualified: str) -> tuple[int, ...]:
    """Positions of the arguments a library function writes into (none for most)."""
    return MUTATING_FUNCTIONS.get(root_and_name(qualified), ())


def result_holds_arguments(qualified: str) -> bool:
    """Whether a library call's result may reference its arguments (a class instance, a view,
    a pipeline around them); a computed result (a frame read, a score) does not."""
    name = root_and_name(qualified)[1]
    return name in VIEW_FUNCTIONS or name in HOLDING_FUNCTIONS or name[:1].isupper()


def kind_of_call(qualified: str | None, builtin: str | None) -> str | None:
    """The kind of what a call returns, if any (an iterator, a random generator, a defaultdict, a logger)."""
    if builtin in ITERATOR_BUILTINS:
        return ITERATOR
    if qualified is None:
        return None
    root, name = root_and_name(qualified)
    if name in RNG_CONSTRUCTORS and root in ("numpy", "random", "sklearn"):
        return RNG_OBJECT
    if (root, name) == ("collections", "defaultdict"):
        return DEFAULTDICT
    if root == "itertools":
        return ITERATOR
    if qualified in LOGGER_CONSTRUCTORS:
        return LOGGER
    return None


def kind_of_value(value: object) -> str | None:
    """The stateful kind of a live object (kernel names are resolved to what they hold)."""
    import collections
    import logging
    import random

    if isinstance(value, logging.Logger | logging.LoggerAdapter):
        return LOGGER
    if isinstance(value, collections.defaultdict):
        return DEFAULTDICT
    if isinstance(value, random.Random):
        return RNG_OBJECT
    module = type(value).__module__
    if module.startswith("numpy.random") and type(value).__name__ in ("Generator", "RandomState"):
        return RNG_OBJECT
    if isinstance(value, (types.GeneratorType, types.AsyncGeneratorType)) or (
        hasattr(type(value), "__next__") and not isinstance(value, type)
    ):
        return ITERATOR
    return None


def open_log_files() -> frozenset[str]:
    """The files this process's logging handlers append to: a kernel cell's records reach them."""
    import logging

    loggers = [logging.root, *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger))]
    return frozenset(h.baseFilename for lg in loggers for h in lg.handlers if isinstance(h, logging.FileHandler))


def qualified_name(value: object) -> str | None:
    """The library path a kernel name resolves to (``numpy``, ``sklearn.model_selection._split.
    train_test_split``), or None when it is not a library module, function or class."""
    if isinstance(value, types.ModuleType):
        return value.__name__
    if not callable(value):
        return None
    module = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str) or module.split(".")[0] not in LIBRARY_ROOTS:
        return None
    return f"{module}.{name}"


def function_effects(function: object, namespace: Mapping[str, object]) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """For a function already defined in the kernel: the globals it reads, those it may change in
    place (every mutable global it loads: cautious) and those it rebinds (``global x; x = …``),
    read from its bytecode, nested functions included."""
    code = getattr(function, "__code__", None)
    if not isinstance(code, types.CodeType):
        return frozenset(), frozenset(), frozenset()
    loads: set[str] = set()
    stores: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        for instruction in dis.get_instructions(current):
            if instruction.opname == "LOAD_GLOBAL":
                loads.add(instruction.argval)
            elif instruction.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
                stores.add(instruction.argval)
        pending.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    changed = {n for n in loads if n in namespace and _mutable(namespace[n])}
    return frozenset(loads | stores), frozenset(changed), frozenset(stores)


def _mutable(value: object) -> bool:
    """Whether a global's object could be changed in place by a function that loads it."""
    immutable = (int, float, complex, str, bytes, bool, type(None), frozenset, types.ModuleType, types.FunctionType,
                 types.BuiltinFunctionType, type)
    if isinstance(value, immutable):
        return False
    if isinstance(value, tuple):
        return any(_mutable(v) for v in value)
    return True


def is_process_setter(qualified: str | None) -> bool:
    """Whether a resolved callee (``pandas.set_option``) changes process-wide settings."""
    return qualified is not None and root_and_name(qualified) in PROCESS_SETTERS


def is_process_setting(qualified: str | None) -> bool:
    """Whether a resolved path (``pandas.options.display``) is inside a settings object."""
    return qualified is not None and any(
        qualified == f"{m}.{n}" or qualified.startswith(f"{m}.{n}.") for m, n in PROCESS_SETTINGS)


def replayable(statement: ast.stmt) -> bool:
    """Whether ``statement`` is a setting by itself — a call statement or an assignment into an
    attribute or item — so that another process binding its outputs can run it again to get the
    same settings. A settings call inside a loop, a branch or a larger expression is not: running
    the whole statement again would redo its other work, so it is never shared (see graph.py)."""
    if isinstance(statement, ast.Expr | ast.Assign | ast.AnnAssign) and isinstance(statement.value, ast.Call):
        return True
    targets = _assigned(statement)
    return bool(targets) and all(isinstance(t, ast.Attribute | ast.Subscript) for t in targets)


def _assigned(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        return statement.targets
    return [statement.target] if isinstance(statement, ast.AugAssign | ast.AnnAssign) else []


def sets_process_state(statement: ast.stmt, namespace: Mapping[str, object]) -> bool:
    """Whether a :func:`replayable` ``statement`` (just run in ``namespace``) called a
    :data:`PROCESS_SETTERS` function or assigned into a :data:`PROCESS_SETTINGS` object —
    recognized by the objects its names hold now, not by how it spells them."""
    if not replayable(statement):
        return False
    if isinstance(statement, ast.Expr | ast.Assign | ast.AnnAssign) and isinstance(statement.value, ast.Call):
        callee = _resolve_chain(statement.value.func, namespace)
        if callee and any(callee[-1] is setter for setter in _loaded(PROCESS_SETTERS)):
            return True
    settings = _loaded(PROCESS_SETTINGS)
    for target in _assigned(statement):
        if isinstance(target, ast.Attribute | ast.Subscript):
            chain = _resolve_chain(target.value, namespace)
            if any(obj is setting for obj in chain for setting in settings):
                return True
    return False


def replay_source(statement: ast.stmt, namespace: Mapping[str, object]) -> str | None:
    """The statement's source when it set process state (:func:`sets_process_state`): a process
    binding its outputs instead of running it runs this too."""
    return ast.unparse(statement) if sets_process_state(statement, namespace) else None


def replay(source: str, namespace: dict) -> None:
    """Set in this process the state a shared step set where it ran (``warnings.
    filterwarnings("ignore")``, ``sklearn.set_config(...)``): its outputs came bound, its
    effect on the process did not. Quietly: its output was shown once already."""
    with capturing(StepOutput()):
        try:
            exec(compile(source, "<shared step>", "exec"), namespace)  # noqa: S102 - the cell's own statement
        except Exception:  # noqa: BLE001 - it ran fine where it was shared from; nothing to add
            pass


def _loaded(pairs: tuple[tuple[str, str], ...]) -> list[object]:
    """The objects named by (module, attribute) pairs, for the modules loaded in this process."""
    found = []
    for module_name, name in pairs:
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, name):
            found.append(getattr(module, name))
    return found


def _resolve_chain(expression: ast.expr, namespace: Mapping[str, object]) -> list[object]:
    """The objects along a dotted name (``pd.options.display`` → pd, pd.options, …), looked up
    without calling anything; empty when it is not a plain dotted name or a lookup fails."""
    if isinstance(expression, ast.Name):
        if expression.id in namespace:
            return [namespace[expression.id]]
        return [getattr(builtins, expression.id)] if hasattr(builtins, expression.id) else []
    if isinstance(expression, ast.Attribute):
        chain = _resolve_chain(expression.value, namespace)
        if chain:
            try:
                return [*chain, getattr(chain[-1], expression.attr)]
            except Exception:  # noqa: BLE001 - a property that raises: not a settings lookup
                return []
    return []
