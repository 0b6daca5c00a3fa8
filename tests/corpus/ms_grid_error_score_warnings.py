import warnings
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_breast_cancer(return_X_y=True)
pipe = Pipeline([("sc", StandardScaler()), ("lr", LogisticRegression(max_iter=300))])
grid = {"lr__C": [0.1, 1.0], "lr__solver": ["lbfgs", "liblinear"], "lr__penalty": ["l2", "l1"]}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    search = GridSearchCV(pipe, grid, cv=KFold(3, shuffle=True, random_state=0), error_score=np.nan)
    search.fit(X, y)
kinds = sorted({type(w.message).__name__ for w in caught})
print(kinds)
print(np.round(search.cv_results_["mean_test_score"], 6).tolist())
print(search.best_params_)
