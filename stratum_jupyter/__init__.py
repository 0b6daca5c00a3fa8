"""stratum-jupyter: capture pandas/scikit-learn pipelines from notebook cells, run them as one
deduplicated batch on a Rust runtime, and get results back as if each cell had run on its own."""

__version__ = "0.1.0"

# Imported on first use (PEP 562): ``%load_ext`` starts the worker processes before this
# process imports pandas (see load_ipython_extension).
_LAZY = {"Batch": "batch", "PipelineResult": "results", "RunResult": "results"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """``%load_ext stratum_jupyter``: register the ``%stratum`` / ``%%stratum`` magics, and
    start the worker processes of isolated cells (unless configured for another backend)."""
    from .runtime import DEFAULT_BACKEND
    from .runtime.pool import start_early

    settings = ipython.config.get("StratumMagics", {})
    if settings.get("backend", DEFAULT_BACKEND) == "processes" and not settings.get("scheduler"):
        start_early(settings.get("jobs"))
    from .magics import StratumMagics

    ipython.register_magics(StratumMagics(ipython))


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext stratum_jupyter``: remove the magics (captured pipelines are dropped)."""
    magics = ipython.magics_manager.registry.pop("StratumMagics", None)
    if magics is not None:
        for kind in ("line", "cell"):
            ipython.magics_manager.magics[kind].pop("stratum", None)


__all__ = ["Batch", "PipelineResult", "RunResult", "load_ipython_extension", "unload_ipython_extension"]
