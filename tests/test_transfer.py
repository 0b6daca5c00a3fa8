"""Values moving between processes (transfer.py): what travels by value and what by reference."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import loguniform, randint
from sklearn.utils import check_random_state

from stratum_jupyter import Batch, transfer


def _round_trip(value: object) -> object:
    return transfer.loads(transfer.dumps(value))


def test_globals_of_a_library_module_arrive_as_the_receivers_own_objects():
    back = _round_trip({"loguniform": loguniform, "randint": randint, "nat": pd.NaT,
                        "global_rng": check_random_state(None)})
    assert back["loguniform"] is loguniform and back["randint"] is randint
    assert back["nat"] is pd.NaT
    assert back["global_rng"] is np.random.mtrand._rand  # what random_state=None estimators hold


def test_a_module_global_rebound_after_pickling_travels_by_value(monkeypatch):
    # The index of a module's globals is kept between picklings: a global rebound since must not
    # make the old object arrive as the new one (nor a new object that reuses the old id).
    import types

    module = types.ModuleType("stratum_test_globals")
    exec("class Thing:\n    pass\nthing = Thing()\n", vars(module))
    monkeypatch.setitem(__import__("sys").modules, "stratum_test_globals", module)
    old = module.thing
    assert _round_trip(old) is old
    module.thing = module.Thing()
    back = _round_trip(old)
    assert back is not old and back is not module.thing and type(back) is module.Thing


def test_other_instances_of_the_same_classes_travel_by_value():
    frozen = randint(2, 10)
    own = type(loguniform)(name="own")
    rng = np.random.RandomState(3)
    back = _round_trip({"frozen": frozen, "own": own, "rng": rng})
    assert back["frozen"] is not frozen and back["frozen"].args == (2, 10)
    assert back["own"] is not own and back["own"].name == "own"
    assert back["rng"] is not rng and back["rng"].randint(1000) == np.random.RandomState(3).randint(1000)


def test_an_isolated_cell_imported_distribution_is_the_kernels_after_the_run():
    code = (
        "import numpy as np\n"
        "from scipy.stats import loguniform\n"
        "from sklearn.utils import check_random_state\n"
        "np.random.seed(0)\n"
        "rng = check_random_state(None)  # the global RandomState, as random_state=None resolves\n"
    )
    batch = Batch()
    batch.add(code, name="p", isolated=True)
    result = batch.run(jobs=1)["p"]
    assert result.status == "ok", result.error
    namespace = result.namespace
    # As after plain execution: the names are the library's objects, so a later draw follows the
    # kernel's global RNG instead of a copy frozen when the worker pickled the namespace.
    assert namespace["loguniform"] is stats.loguniform
    np.random.seed(1)
    drawn = namespace["loguniform"].rvs(1e-3, 1.0)
    np.random.seed(1)
    assert drawn == stats.loguniform.rvs(1e-3, 1.0)
    assert namespace["rng"] is np.random.mtrand._rand


def test_bunches_arrive_with_exactly_their_attributes():
    from sklearn.utils import Bunch

    made = Bunch(a=1, b=[2])
    made.__dict__["note"] = "kept"  # an attribute next to the items survives the trip
    unpickled = pickle.loads(pickle.dumps(Bunch(a=1)))  # e.g. from joblib.load: no attributes left
    back = _round_trip({"made": made, "unpickled": unpickled})
    assert back["made"] == {"a": 1, "b": [2]} and vars(back["made"]) == vars(made)
    assert back["unpickled"] == {"a": 1} and vars(back["unpickled"]) == vars(unpickled)


def test_objects_of_inputs_arrive_as_the_readers_own_objects_of_those_versions():
    writer_df = pd.DataFrame({"a": ["x", "y"], "b": [1.0, 2.0]})
    writer_list = [1, 2]
    value = {"alias": writer_df, "nested": [writer_list, writer_df], "new": pd.Series(["s"] * 3), "n": 3}
    # (one object under two versions: a name bound to another's value)
    data = transfer.dumps(value, {"df@1": writer_df, "df@0": writer_df, "l@2": writer_list, "x@3": 7})
    reader_df, reader_list = writer_df.copy(), [1, 2]
    back = transfer.loads(data, {"df@1": reader_df, "df@0": reader_df, "l@2": reader_list, "x@3": 7})
    assert back["alias"] is reader_df and back["nested"][1] is reader_df and back["nested"][0] is reader_list
    assert back["new"].tolist() == ["s"] * 3 and back["n"] == 3
    # A version the reader lacks only matters if the value refers to it.
    assert transfer.loads(transfer.dumps({"k": [5]}, {"df@1": writer_df}), {})["k"] == [5]
    try:
        transfer.loads(data, {"l@2": reader_list})
    except KeyError as error:
        assert "df@1" in str(error)
    else:
        raise AssertionError("a reference to a version the reader lacks must not load")


def test_a_slice_keeps_its_link_to_the_frame_it_was_taken_from():
    """pandas 2.x warns (SettingWithCopyWarning) on writing to ``sub = df[mask]``; the link is a
    weakref pickling drops: a slice that travelled to a process that has ``df`` links to its
    ``df``, so the write warns there too. A copy apart (isolation) keeps it as well."""
    import warnings

    from stratum_jupyter import isolation

    df = pd.DataFrame({"a": [1.0, -1.0, 2.0], "b": [1.0, 2.0, 3.0]})
    sub = df[df["a"] > 0]
    if transfer.copy_parent(sub) is not df:
        pytest.skip("this pandas does not track slices (copy-on-write)")
    reader_df = df.copy()
    moved = transfer.loads(transfer.dumps(sub, {"v1": df}), {"v1": reader_df})
    assert transfer.copy_parent(moved) is reader_df
    together = transfer.loads(transfer.dumps({"df": df, "sub": sub}))
    assert transfer.copy_parent(together["sub"]) is together["df"]
    assert transfer.copy_parent(transfer.loads(transfer.dumps(sub))) is None  # nothing to link to
    copies = isolation.isolate({"df": df, "sub": sub})
    assert transfer.copy_parent(copies["sub"]) is copies["df"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        moved["c"] = 1.0
    assert [type(w.message).__name__ for w in caught] == ["SettingWithCopyWarning"]
