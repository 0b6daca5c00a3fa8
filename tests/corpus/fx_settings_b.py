# Effects pair (settings, b): the same settings prefix; its own steps print a scaled frame's type, numpy's rounded output, a cut `describe()` and how many warnings got through.
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
spend = df[["spend"]]
scaled_spend = StandardScaler().fit_transform(spend)
print(type(scaled_spend).__name__, scaled_spend.shape)
print(np.array([1 / 3, 2 / 3]))
print(df.describe())
with warnings.catch_warnings(record=True) as log:
    warnings.warn("ignored too", FutureWarning)
count = len(log)
print(count)
del log
