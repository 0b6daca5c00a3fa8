import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso
from sklearn.metrics import make_scorer, mean_absolute_error
from sklearn.model_selection import cross_val_score, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

seen = []
def logged_mae(y_true, y_pred):
    seen.append(len(y_true))
    return mean_absolute_error(y_true, y_pred)

X, y = load_diabetes(return_X_y=True)
pipe = make_pipeline(StandardScaler(), Lasso(alpha=0.5))
scores = cross_val_score(pipe, X, y, cv=KFold(5, shuffle=True, random_state=4), scoring=make_scorer(logged_mae))
print(np.round(scores, 6).tolist(), seen)
