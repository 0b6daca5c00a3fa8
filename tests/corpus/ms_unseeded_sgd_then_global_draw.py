import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import cross_val_score, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

np.random.seed(3)
X, y = load_breast_cancer(return_X_y=True)
pipe = make_pipeline(SimpleImputer(), StandardScaler(), SGDClassifier(max_iter=50, tol=None))
scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(4))
after = np.random.rand()
print(np.round(scores, 6).tolist(), round(after, 8))
