# Effects pair (plain helpers, a): cell functions that only build objects from their arguments
# (no mutation, no globals) do not change what they are given, but their results hold it.
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def make_preprocessor(num_cols):
    return ColumnTransformer([("num", Pipeline([("scale", StandardScaler())]), num_cols)])


def pick(frame):
    return frame


df = pd.read_csv("tests/corpus/data/customers.csv")
num_cols = ["age", "income", "tenure_months", "monthly_visits"]
df[num_cols] = df[num_cols].fillna(0)
view = pick(df)
view["spend_per_visit"] = view["spend"] / (view["monthly_visits"] + 1)
X = df[num_cols + ["spend_per_visit"]]
y = df["spend"]
model = Pipeline([("pre", make_preprocessor(num_cols + ["spend_per_visit"])), ("model", Ridge(alpha=1.0))])
fold_scores = []
for train_idx, valid_idx in KFold(n_splits=4, shuffle=True, random_state=0).split(X):
    model.fit(X.iloc[train_idx], y.iloc[train_idx])
    fold_scores.append(model.score(X.iloc[valid_idx], y.iloc[valid_idx]))
score = float(np.mean(fold_scores))
print(f"{len(df.columns)} columns, R2 {score:.4f}")
