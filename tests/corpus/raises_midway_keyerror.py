# stratum-corpus: expect-failure
# A typo'd column name raises KeyError after several names are bound (a typical agent crash).
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("tests/corpus/data/customers.csv")
df["promo"] = (df["has_promo"] == "yes").astype(int)
features = ["promo", "tenure_months", "support_calls"]
model = LogisticRegression(max_iter=500).fit(df[features], df["churn"])
train_acc = model.score(df[features], df["churn"])
print(f"train accuracy: {train_acc:.4f}")

df["engagement"] = df["monthly_visit"] * df["tenure_months"]  # KeyError: 'monthly_visit'
print("never printed")
never_bound = 1
