# Reads a file that csv_roundtrip.py (earlier in sorted order) writes, if it exists:
# in a batch it must see exactly what sequential execution would.
import os

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

path = ".stratum_tmp/csv_roundtrip_features.csv"
if os.path.exists(path):
    features = pd.read_csv(path)
    source = "earlier script"
else:
    raw = pd.read_csv("tests/corpus/data/customers.csv")
    features = raw[["income", "monthly_visits", "tenure_months", "spend"]].dropna()
    features = features.assign(income_k=features["income"] / 1000)
    source = "recomputed"

model = Ridge(alpha=2.0).fit(features[["income_k", "monthly_visits", "tenure_months"]], features["spend"])
fit_r2 = model.score(features[["income_k", "monthly_visits", "tenure_months"]], features["spend"])
print(f"features from {source}: {features.shape}")
print(f"ridge r2: {fit_r2:.4f}")
