# Near-duplicate candidate: identical load and features, only Ridge(alpha=1) differs.
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")
df = df.dropna(subset=["income"])
X = pd.get_dummies(df[["income", "monthly_visits", "tenure_months", "plan", "region"]], columns=["plan", "region"], dtype=float)
y = df["spend"]

model = make_pipeline(StandardScaler(), Ridge(alpha=1))
scores = cross_val_score(model, X, y, cv=5, scoring="neg_mean_absolute_error")
mae = -scores.mean()
print(f"alpha=1 MAE={mae:.4f}")
