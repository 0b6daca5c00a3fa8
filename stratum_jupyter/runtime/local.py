"""The Rust runtime (``stratum_jupyter._native``)."""

from __future__ import annotations

try:
    from .._native import run_plan
except ImportError as error:  # pragma: no cover - only when the extension was not built
    _missing = error

    def run_plan(*args, **kwargs):  # type: ignore[no-redef]
        raise RuntimeError(
            "the Rust runtime stratum_jupyter._native is not built "
            f"({_missing}); run `make setup` or `pip install .`, or use backend='python'"
        )

__all__ = ["run_plan"]
