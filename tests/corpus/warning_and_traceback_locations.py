# Where warnings and errors point: python SCRIPT compiles the script as its absolute path, so a
# recorded warning's filename, a traceback's frames and a function's co_filename all name it.
import sys
import traceback
import warnings

import numpy as np
import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")


def ratio(frame, column):
    if frame[column].isna().any():
        warnings.warn(f"{column} has missing values", UserWarning)
    return frame[column] / frame["tenure_months"]


with warnings.catch_warnings(record=True) as log:
    warnings.simplefilter("always")
    spend_ratio = ratio(df, "age")
    zeros = np.array([1.0, 0.0]) / np.array([0.0, 0.0])
recorded = [(w.filename, w.lineno, w.category.__name__, str(w.message)) for w in log]

try:
    ratio(df, "no_such_column")
except KeyError:
    frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(sys.exc_info()[2])
              if f.name in ("<module>", "ratio")]

defined_in = ratio.__code__.co_filename
print(len(recorded), len(frames), defined_in == frames[0][0])
