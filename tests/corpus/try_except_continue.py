# Errors that are caught and handled; the script goes on.
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("tests/corpus/data/customers.csv")

try:
    loyalty = df["loyalty_score"].mean()
except KeyError as exc:
    loyalty = None
    missing_column = str(exc)

column_means = {}
skipped = []
for col in ["age", "region", "income", "plan"]:
    try:
        column_means[col] = round(float(df[col].mean()), 3)
    except (TypeError, ValueError):
        skipped.append(col)

try:
    LogisticRegression(max_iter=200).fit(df[["age", "income"]], df["churn"])
    fit_error = None
except ValueError as exc:
    fit_error = type(exc).__name__

X = df[["age", "income"]].fillna(df[["age", "income"]].median())
model = LogisticRegression(max_iter=1000).fit(X / 1000, df["churn"])
train_acc = model.score(X / 1000, df["churn"])
print(f"missing column: {missing_column}, skipped: {skipped}, fit error: {fit_error}")
print(f"means: {column_means}")
print(f"train accuracy: {train_acc:.4f}")
