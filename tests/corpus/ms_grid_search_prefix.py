# Model selection sharing (issue 10): GridSearchCV whose grid points share the preprocessing per fold
# (and with ms_cross_validate_estimators.py: same prefix, other folds), plus a grid over a prefix step.
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")
numeric = ["age", "income", "tenure_months", "monthly_visits", "support_calls", "satisfaction"]
categorical = ["region", "plan", "signup_channel"]
X = df[numeric + categorical]
y = df["churn"]
spend = df["spend"]
preprocess = ColumnTransformer([
    ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
    ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
])
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold

model = Pipeline([("prep", preprocess), ("clf", LogisticRegression(max_iter=1000))])
grid = {"clf__C": [0.1, 1.0, 10.0], "prep__num__impute__strategy": ["mean", "median"]}
search = GridSearchCV(model, grid, cv=StratifiedKFold(3, shuffle=True, random_state=1), scoring="roc_auc")
search.fit(X, y)
ranking = pd.DataFrame(search.cv_results_)[["params", "mean_test_score", "rank_test_score"]]
print(search.best_params_, round(search.best_score_, 4))
