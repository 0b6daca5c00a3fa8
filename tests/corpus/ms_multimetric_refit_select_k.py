import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.svm import SVC
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.feature_selection import SelectKBest, f_classif

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
pipe = Pipeline([("sc", StandardScaler()), ("sel", SelectKBest(f_classif)), ("svc", SVC())])
search = GridSearchCV(pipe, {"sel__k": [5, 15], "svc__C": [0.5, 2.0]}, scoring={"acc": "accuracy", "f1": "f1"},
                      refit="f1", cv=StratifiedKFold(3, shuffle=True, random_state=2), return_train_score=True)
search.fit(X, y)
r = search.cv_results_
print(search.best_index_, search.best_params_, round(search.best_score_, 6))
print(np.round(r["mean_train_acc"], 6).tolist(), np.round(r["mean_test_f1"], 6).tolist())
print(search.best_estimator_.named_steps["sel"].get_support().nonzero()[0].tolist())
