import numpy as np
from sklearn.datasets import load_wine
from sklearn.neighbors import KNeighborsClassifier
from sklearn.model_selection import cross_val_score, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

X, y = load_wine(return_X_y=True)
pipe = Pipeline([("mm", MinMaxScaler()), ("knn", KNeighborsClassifier())])
out = {}
for k in (3, 7, 11):
    pipe.set_params(knn__n_neighbors=k)
    out[k] = cross_val_score(pipe, X, y, cv=KFold(5, shuffle=True, random_state=0), n_jobs=2).mean().round(6)
best = max(out, key=out.get)
pipe.set_params(knn__n_neighbors=best).fit(X, y)
print(out, best, pipe.named_steps["mm"].data_max_[:3])
