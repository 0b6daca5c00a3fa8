# RandomizedSearchCV over scipy.stats distributions imported by name, candidates drawn from the
# seeded global RNG (random_state=None everywhere); the distributions stay bound in the namespace.
import numpy as np
from scipy.stats import loguniform, randint
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import RandomizedSearchCV

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
np.random.seed(0)
param_distributions = {"max_depth": randint(2, 8), "min_samples_leaf": randint(1, 6),
                       "max_features": loguniform(0.2, 1.0)}
search = RandomizedSearchCV(RandomForestClassifier(n_estimators=15), param_distributions,
                            n_iter=3, cv=3, scoring="accuracy")
search.fit(X, y)
best_params = {k: round(float(v), 4) for k, v in search.best_params_.items()}
print(best_params, round(search.best_score_, 4), np.random.rand())
