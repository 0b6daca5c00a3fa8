"""The same fits as _a, whose later write to the array must not reach this script's models."""
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.kernel_ridge import KernelRidge
from sklearn.neighbors import KNeighborsRegressor

X, y = load_diabetes(return_X_y=True, as_frame=True)
values = X.iloc[:50].to_numpy(copy=True)  # small: BLAS runs one thread (see README, Limitations)
target = y.iloc[:50].to_numpy(copy=True)
ridge = KernelRidge(alpha=1.0).fit(values, target)
knn = KNeighborsRegressor(n_neighbors=5)
knn.fit(values, target)
before = ridge.predict(values[:5])
first_rows = float(np.abs(values[:5]).sum())
neighbours = knn.predict(values[:5])
