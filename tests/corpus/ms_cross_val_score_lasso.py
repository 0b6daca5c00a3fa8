# Model selection sharing (issue 10): as ms_cross_val_score_ridge.py with Lasso as the final model.
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
from sklearn.linear_model import Lasso
from sklearn.model_selection import KFold, cross_val_score

model = Pipeline([("prep", preprocess), ("reg", Lasso(alpha=0.5, max_iter=5000))])
scores = cross_val_score(model, X, spend, cv=KFold(5, shuffle=True, random_state=42), scoring="neg_mean_squared_error")
print(f"lasso rmse: {np.sqrt(-scores.mean()):.4f}")
