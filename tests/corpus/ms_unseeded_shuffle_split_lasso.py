import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso
from sklearn.model_selection import ShuffleSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

np.random.seed(42)
X, y = load_diabetes(return_X_y=True)
a = cross_val_score(make_pipeline(StandardScaler(), Lasso(alpha=0.3)), X, y, cv=ShuffleSplit(3, test_size=0.25))
b = cross_val_score(make_pipeline(StandardScaler(), Lasso(alpha=0.3)), X, y, cv=ShuffleSplit(3, test_size=0.25))
print(np.round(a, 8).tolist(), np.round(b, 8).tolist())
