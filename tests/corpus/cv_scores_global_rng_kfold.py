# An array of cross-validation scores whose folds come from the seeded global RNG (KFold(shuffle=True) without random_state).
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_score

np.random.seed(13)
df = pd.read_csv("tests/corpus/data/customers.csv").dropna(subset=["income"])
X = df[["income", "monthly_visits", "tenure_months"]]
y = df["spend"]
cv = KFold(n_splits=5, shuffle=True)
cv_scores = cross_val_score(Ridge(alpha=3.0), X, y, cv=cv, scoring="r2")
second_scores = cross_val_score(Ridge(alpha=3.0), X, y, cv=cv, scoring="r2")
after = np.random.rand(2)
print("cv", np.round(cv_scores, 4), "second", np.round(second_scores, 4))
