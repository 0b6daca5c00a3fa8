# GridSearchCV over a small grid; the fitted search object stays in the namespace.
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")
X = df[["tenure_months", "monthly_visits", "support_calls", "satisfaction", "income"]].fillna(0)
y = df["churn"]

pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))])
param_grid = {"clf__C": [0.01, 0.1, 1.0], "clf__class_weight": [None, "balanced"]}
search = GridSearchCV(pipe, param_grid, cv=3, scoring="accuracy")
search.fit(X, y)
best_params = search.best_params_
ranking = pd.DataFrame(search.cv_results_)[["param_clf__C", "param_clf__class_weight", "mean_test_score", "rank_test_score"]]
print(f"best params: {best_params}")
print(f"best cv accuracy: {search.best_score_:.4f}")
print(ranking.sort_values("rank_test_score", kind="mergesort").to_string(index=False))
