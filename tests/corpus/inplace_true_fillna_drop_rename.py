# Cleaning with inplace=True: fillna, drop, rename, sort_values, reset_index.
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

df = pd.read_csv("tests/corpus/data/customers.csv")

df.fillna({"age": df["age"].median(), "income": df["income"].median(), "satisfaction": 3.0}, inplace=True)
df.drop(columns=["customer_id", "signup_channel"], inplace=True)
df.rename(columns={"tenure_months": "tenure", "monthly_visits": "visits"}, inplace=True)
df.sort_values("tenure", inplace=True, kind="mergesort")
df.reset_index(drop=True, inplace=True)

X = df[["age", "income", "tenure", "visits", "support_calls", "satisfaction"]]
y = df["churn"]
rf = RandomForestClassifier(n_estimators=40, max_depth=6, random_state=1)
scores = cross_val_score(rf, X, y, cv=3)
print(f"missing left: {int(df.isna().sum().sum())}")
print(f"rf cv accuracy: {scores.mean():.4f} +/- {scores.std():.4f}")
