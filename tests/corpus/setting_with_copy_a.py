import warnings
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
sub = df[df["a"] > 0]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sub["c"] = sub["b"] * 2
print(len(sub), sorted({type(x.message).__name__ for x in caught}), "c" in df.columns)
del caught
