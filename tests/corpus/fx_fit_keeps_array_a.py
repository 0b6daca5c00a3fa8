"""Models that keep the very array they were fitted on (kernel ridge, k-neighbours), fitted by
steps another script shares: a write to the array afterwards reaches both models, as in a plain
run (the shared array is copied together with the models that hold it); see _b."""
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
values[:5] *= 10.0
ridge_sees_write = bool(np.array_equal(ridge.X_fit_[:5], values[:5]))
knn_sees_write = bool(np.array_equal(knn._fit_X[:5], values[:5]))
after = ridge.predict(values[:5])
print(ridge_sees_write, knn_sees_write, float(np.abs(after - before).max()) > 0)
