"""stratum-jupyter: capture pandas/scikit-learn pipelines from notebook cells, run them as one
deduplicated batch on a Rust runtime, and get results back as if each cell had run on its own."""

from .batch import Batch
from .results import PipelineResult, RunResult

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext stratum_jupyter``: register the ``%stratum`` / ``%%stratum`` magics."""
    from .magics import StratumMagics

    ipython.register_magics(StratumMagics(ipython))


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext stratum_jupyter``: remove the magics (captured pipelines are dropped)."""
    magics = ipython.magics_manager.registry.pop("StratumMagics", None)
    if magics is not None:
        for kind in ("line", "cell"):
            ipython.magics_manager.magics[kind].pop("stratum", None)


__all__ = ["Batch", "PipelineResult", "RunResult", "load_ipython_extension", "unload_ipython_extension"]
