"""Copies that keep one pipeline's in-place changes from another: independent, alias-preserving,
and cheap for pandas objects under copy-on-write."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stratum_jupyter.isolation import _copy_on_write, isolate


def test_a_copy_is_independent_and_aliases_stay_aliases():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    copies = isolate({"df": frame, "alias": frame, "series": frame["a"]})
    assert copies["df"] is copies["alias"] and copies["df"] is not frame
    copies["df"].loc[0, "a"] = 99.0
    copies["series"].iloc[1] = -1.0
    assert frame["a"].tolist() == [1.0, 2.0, 3.0]
    assert copies["alias"].loc[0, "a"] == 99.0


@pytest.mark.skipif(not _copy_on_write(), reason="pandas without copy-on-write: copies are deep")
def test_under_copy_on_write_frames_and_series_are_copied_shallowly():
    frame = pd.DataFrame({"a": np.arange(1000.0)})
    series = pd.Series(np.arange(1000.0))
    copies = isolate({"df": frame, "s": series})
    assert np.shares_memory(copies["df"]["a"].to_numpy(), frame["a"].to_numpy())
    assert np.shares_memory(copies["s"].to_numpy(), series.to_numpy())
    copies["df"].loc[0, "a"] = -5.0  # copy-on-write: the write copies, the original stays
    assert frame.loc[0, "a"] == 0.0


def test_a_scikit_learn_bunch_keeps_its_attributes_and_aliases():
    # Bunch.__setstate__ drops the attributes a deep copy would carry (`vars(load_iris())` is not
    # empty): a copy made for a pipeline must look like the original, and nothing else changes.
    import copy

    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    copies = isolate({"iris": iris, "X": iris.data})
    assert vars(copies["iris"]) == vars(iris) and vars(iris)
    assert copies["iris"] is not iris and copies["iris"].data is copies["X"]
    assert copies["X"].equals(iris.data) and copies["X"] is not iris.data
    assert vars(copy.deepcopy(iris)) == {}  # Python's own deep copy, outside isolate, as before
