import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler, PolynomialFeatures

X, y = load_diabetes(return_X_y=True, as_frame=True)
pipe = Pipeline([("poly", PolynomialFeatures(2)), ("scale", StandardScaler()), ("ridge", Ridge(alpha=3.0))])
res = cross_validate(pipe, X, y, cv=KFold(4, shuffle=True, random_state=1),
                     scoring=["r2", "neg_mean_absolute_error"], return_train_score=True, return_estimator=True)
coefs = np.vstack([e.named_steps["ridge"].coef_ for e in res["estimator"]])
summary = {k: np.round(v, 6).tolist() for k, v in res.items() if k.startswith(("test_", "train_"))}
print(summary)
print(coefs.shape, float(coefs.sum()))
