# The same name rebound step after step: df = df.dropna(); df = df[...]; df = df.reset_index(...).
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

df = pd.read_csv("tests/corpus/data/customers.csv")
n_raw = len(df)
df = df.dropna()
df = df[df["tenure_months"] > 2]
df = df.reset_index(drop=True)
df = df.assign(promo=(df["has_promo"] == "yes").astype(int))
X = df[["age", "income", "tenure_months", "monthly_visits", "support_calls", "satisfaction", "promo"]]
X = X.astype(float)
y = df["churn"]

clf = RandomForestClassifier(n_estimators=30, min_samples_leaf=5, random_state=4)
acc = cross_val_score(clf, X, y, cv=3).mean()
print(f"kept {len(df)} of {n_raw} rows")
print(f"rf accuracy: {acc:.4f}")
