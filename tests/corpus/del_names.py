# `del` of intermediates, of a column (`del df[...]`) and of a loop variable.
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

df = pd.read_csv("tests/corpus/data/customers.csv")

del df["customer_id"]
del df["signup_channel"]
tmp = df.select_dtypes(include="number")
medians = tmp.median()
X = tmp.drop(columns=["churn", "spend"]).fillna(medians)
y = df["churn"]
del tmp

for col in list(X.columns):
    spread = X[col].std()
    X[col] = (X[col] - X[col].mean()) / spread
del col, spread

cv_scores = cross_val_score(LogisticRegression(max_iter=500), X, y, cv=4)
mean_cv = float(cv_scores.mean())
del cv_scores
print(f"remaining columns: {list(df.columns)}")
print(f"logreg cv accuracy: {mean_cv:.4f}")
