# Features written with to_csv under .stratum_tmp/ and read back before modelling.
import os

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

df = pd.read_csv("tests/corpus/data/customers.csv")
os.makedirs(".stratum_tmp", exist_ok=True)

features = df[["customer_id", "income", "monthly_visits", "tenure_months", "spend"]].dropna()
features = features.assign(income_k=features["income"] / 1000).drop(columns=["income"])
features.to_csv(".stratum_tmp/csv_roundtrip_features.csv", index=False)

loaded = pd.read_csv(".stratum_tmp/csv_roundtrip_features.csv")
same_shape = loaded.shape == features.shape
lin = LinearRegression().fit(loaded[["income_k", "monthly_visits", "tenure_months"]], loaded["spend"])
coef = dict(zip(["income_k", "monthly_visits", "tenure_months"], lin.coef_.round(4)))
print(f"round trip kept shape: {same_shape} {loaded.shape}")
print(f"coefficients: {coef}")
