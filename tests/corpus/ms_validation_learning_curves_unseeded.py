import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso
from sklearn.model_selection import ShuffleSplit, validation_curve, learning_curve, KFold

np.random.seed(11)
X, y = load_diabetes(return_X_y=True)
train, test = validation_curve(Lasso(), X, y, param_name="alpha", param_range=[0.01, 0.1, 1.0], cv=ShuffleSplit(3, test_size=0.3))
sizes, tr2, te2 = learning_curve(Lasso(alpha=0.1), X, y, train_sizes=[0.3, 0.6, 1.0], cv=KFold(3, shuffle=True))
print(np.round(test, 8).tolist(), np.round(te2, 8).tolist(), sizes.tolist(), np.random.randint(100))
