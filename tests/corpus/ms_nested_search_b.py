# Model selection (issue 10): a grid search nested in cross_val_score, and a search drawing from the
# global RNG. With ms_nested_search_a.py the two candidates' searches run side by side on the same
# folds: one computes its own later tasks while it waits for a fold the other fits (a draw from the
# global RNG in such a task is undone and the task run in its turn).
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_breast_cancer(return_X_y=True)
np.random.seed(3)
pipe = Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=6, svd_solver="full")),
                 ("model", LogisticRegression(C=0.3, max_iter=500))])
inner = GridSearchCV(pipe, {"pca__n_components": [4, 6]}, cv=KFold(3, shuffle=True, random_state=1))
nested = cross_val_score(inner, X, y, cv=KFold(4, shuffle=True, random_state=0))
unseeded = Pipeline([("scale", StandardScaler()), ("model", SGDClassifier(max_iter=20, tol=None, alpha=0.001))])
drawn = cross_validate(unseeded, X, y, cv=KFold(5, shuffle=True, random_state=0))
drawn = {k: v for k, v in drawn.items() if "time" not in k}
after = np.random.rand()
print(round(float(nested.mean()), 6), round(float(drawn["test_score"].mean()), 6), round(after, 6))
