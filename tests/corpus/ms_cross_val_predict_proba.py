import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import roc_auc_score

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500))
proba = cross_val_predict(pipe, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
print(proba.shape, round(roc_auc_score(y, proba[:, 1]), 6))
pipe.fit(X, y)
print(pipe[-1].coef_[0, :3])
