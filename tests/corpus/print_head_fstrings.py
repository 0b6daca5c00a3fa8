# Exploration output: head(), describe(), value_counts() and f-strings with scores.
import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

df = pd.read_csv("tests/corpus/data/customers.csv")
print(df[["customer_id", "region", "plan", "age", "spend", "churn"]].head())
print(df[["age", "income", "spend"]].describe().round(2))
print(df["plan"].value_counts().sort_index())
print(f"Shape: {df.shape}")
print(f"Missing income: {df['income'].isna().mean():.2%}")

X = df[["tenure_months", "support_calls", "monthly_visits"]]
y = df["churn"]
baseline = cross_val_score(DummyClassifier(strategy="most_frequent"), X, y, cv=5).mean()
logreg = cross_val_score(LogisticRegression(max_iter=500), X, y, cv=5).mean()
print(f"{'model':<10} {'accuracy':>8}")
for name, score in [("baseline", baseline), ("logreg", logreg)]:
    print(f"{name:<10} {score:>8.4f}")
print(f"lift over baseline: {logreg - baseline:+.4f}")
