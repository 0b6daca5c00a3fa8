# stratum-corpus: expect-failure
# Fitting on data with missing values raises ValueError inside scikit-learn (unfitted model stays bound).
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("tests/corpus/data/customers.csv")
X = df[["age", "income", "satisfaction", "tenure_months"]]
y = df["churn"]
n_missing = int(X.isna().sum().sum())
print(f"rows with missing values: {int(X.isna().any(axis=1).sum())}")
clf = LogisticRegression(max_iter=500)
clf.fit(X, y)
score = clf.score(X, y)
