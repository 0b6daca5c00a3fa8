# Loads the same frame as the in-place scripts and only reads it: must never see their changes.
import numpy as np
import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")

n_rows, n_cols = df.shape
churn_rate = df["churn"].mean()
by_plan = df.groupby("plan")["churn"].mean().round(4)
missing = df.isna().sum()
spend_quantiles = df["spend"].quantile([0.1, 0.5, 0.9]).to_numpy()
print(f"{n_rows} rows x {n_cols} columns, churn rate {churn_rate:.4f}")
print(by_plan.to_string())
print(f"columns: {', '.join(df.columns)}")
