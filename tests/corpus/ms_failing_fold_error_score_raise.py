# stratum-corpus: expect-failure
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_diabetes(return_X_y=True)
X = X.copy()
X[300:, 0] = np.nan
ok = cross_val_score(make_pipeline(StandardScaler(), Ridge()), X[:300], y[:300], cv=3)
print(np.round(ok, 6).tolist())
bad = cross_val_score(make_pipeline(StandardScaler(), Ridge()), X, y, cv=KFold(3), error_score="raise")
