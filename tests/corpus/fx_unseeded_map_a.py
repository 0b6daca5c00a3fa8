# An unseeded kernel map (Nystroem samples its components from the global RNG) scored by
# cross-validation after a different seed in each script: each scores with its own map.
import numpy as np
import pandas as pd
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline

df = pd.read_csv("tests/corpus/data/customers.csv")
X = df[["age", "spend"]].fillna(0)
y = df["churn"].astype(float)
np.random.seed(0)
pipe = Pipeline([("map", Nystroem(n_components=10)), ("model", Ridge(alpha=1.0))])
scores = cross_val_score(pipe, X, y, cv=KFold(3, shuffle=True, random_state=0))
print(f"{scores.mean():.6f}")
