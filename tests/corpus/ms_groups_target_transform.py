import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

X, y = load_diabetes(return_X_y=True, as_frame=True)
groups = (X["age"] * 100).round().astype(int) % 7
model = TransformedTargetRegressor(regressor=make_pipeline(StandardScaler(), Ridge(alpha=2.0)),
                                   func=np.log1p, inverse_func=np.expm1)
scores = cross_val_score(model, X, y, groups=groups, cv=GroupKFold(4), scoring="neg_root_mean_squared_error")
log_pipe = make_pipeline(FunctionTransformer(np.abs), StandardScaler(), Ridge())
scores2 = cross_val_score(log_pipe, X, y, cv=5)
print(np.round(scores, 6).tolist(), np.round(scores2, 6).tolist())
