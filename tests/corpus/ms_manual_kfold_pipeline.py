# Model selection sharing (issue 10): a hand-written KFold loop refitting one Pipeline object fold after
# fold (its ColumnTransformer refitted in place), predictions collected out of fold.
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")
numeric = ["age", "income", "tenure_months", "monthly_visits", "support_calls", "satisfaction"]
categorical = ["region", "plan", "signup_channel"]
X = df[numeric + categorical]
y = df["churn"]
spend = df["spend"]
preprocess = ColumnTransformer([
    ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
    ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
])
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold

model = Pipeline([("prep", preprocess), ("reg", Ridge(alpha=1.0))])
oof = np.zeros(len(X))
fold_r2 = []
for train_idx, valid_idx in KFold(5, shuffle=True, random_state=42).split(X):
    model.fit(X.iloc[train_idx], spend.iloc[train_idx])
    oof[valid_idx] = model.predict(X.iloc[valid_idx])
    fold_r2.append(r2_score(spend.iloc[valid_idx], oof[valid_idx]))
print(f"oof r2: {r2_score(spend, oof):.4f}", np.round(fold_r2, 4).tolist())
