"""Curated knowledge about library calls: which are pure, which mutate, which touch hidden state.

Anything not listed here is treated conservatively by capture (a method call mutates its
receiver, an unknown function mutates its arguments)."""

# Methods that never change their receiver (unless called with inplace=True).
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
    format encode decode find index join_path sum_of items copy_deep first last nth size len
    """.split()
) - {"join_path", "sum_of", "copy_deep"} | {"join"}

# Module-level functions that change an argument in place.
MUTATING_FUNCTIONS = frozenset(
    {
        "np.random.shuffle", "numpy.random.shuffle", "random.shuffle", "np.copyto", "numpy.copyto",
        "np.put", "numpy.put", "np.place", "numpy.place", "np.fill_diagonal", "numpy.fill_diagonal",
        "np.put_along_axis", "numpy.put_along_axis", "shuffle",
    }
)

# Builtins that neither mutate nor keep their arguments.
PURE_BUILTINS = frozenset(
    """
    print len sum min max sorted list dict set tuple frozenset range enumerate zip isinstance issubclass
    str int float bool round abs type repr any all map filter getattr hasattr iter next reversed divmod
    pow hash id format open vars dir callable chr ord bin hex oct slice object super display
    """.split()
)

# Modules whose module-level functions draw from (or seed) a process-global RNG.
RNG_MODULES = frozenset({"np.random", "numpy.random", "random"})

CLOCK_CALLS = frozenset(
    {
        "time.time", "time.time_ns", "time.perf_counter", "time.perf_counter_ns", "time.monotonic",
        "time.process_time", "time.localtime", "time.gmtime", "time.ctime", "datetime.now",
        "datetime.datetime.now", "datetime.utcnow", "datetime.today", "date.today", "datetime.date.today",
        "pd.Timestamp.now", "pd.Timestamp.today", "uuid.uuid4", "uuid.uuid1", "os.urandom", "secrets.token_hex",
    }
)

# Calls that read or rebind names the analysis cannot see.
DYNAMIC_CALLS = frozenset({"globals", "locals", "vars", "exec", "eval", "__import__", "setattr", "delattr", "os.chdir", "get_ipython"})

FILE_READERS = frozenset(
    {
        "read_csv", "read_table", "read_parquet", "read_json", "read_excel", "read_pickle", "read_feather",
        "read_fwf", "read_hdf", "read_orc", "read_sql", "load", "loadtxt", "genfromtxt", "fromfile", "read_text",
        "read_bytes", "load_svmlight_file",
    }
)
FILE_WRITERS = frozenset(
    {
        "to_csv", "to_parquet", "to_json", "to_pickle", "to_excel", "to_feather", "to_hdf", "to_orc", "save",
        "savez", "savez_compressed", "savetxt", "tofile", "dump", "write_text", "write_bytes", "makedirs",
        "mkdir", "remove", "unlink", "rmtree", "rename_file", "savefig", "touch",
    }
)

# Library functions whose result may be (or view) their argument.
VIEW_FUNCTIONS = frozenset({"asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "DataFrame", "Series", "frombuffer", "atleast_1d", "atleast_2d", "squeeze", "ravel", "reshape", "transpose", "broadcast_to", "as_strided", "view"})
