# Effects pair (settings, a): the same settings statements first — a warnings filter set in a loop, a display option set in a branch, scikit-learn's output set by a call — then steps of its own whose printed output and values depend on them.
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.preprocessing import StandardScaler

for category in (UserWarning, FutureWarning):
    warnings.filterwarnings("ignore", category=category)
if pd.get_option("display.max_rows") > 5:
    pd.set_option("display.max_rows", 5)
sklearn.set_config(transform_output="pandas")
np.set_printoptions(precision=3)

df = pd.read_csv("tests/corpus/data/customers.csv")
numeric = df.select_dtypes("number")
scaled = StandardScaler().fit_transform(numeric)
print(type(scaled).__name__, list(scaled.columns))
print(scaled)
with warnings.catch_warnings(record=True) as log:
    warnings.warn("ignored by the loop's filter", UserWarning)
    warnings.warn("shown", DeprecationWarning)
seen = [str(w.message) for w in log]
print(seen)
del log
