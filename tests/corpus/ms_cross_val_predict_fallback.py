# Model selection sharing (issue 10): cross_val_predict, with a FunctionTransformer and a cell-defined
# transformer in the pipeline: those steps are never shared (scikit-learn runs them itself).
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
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.preprocessing import FunctionTransformer


class Clip(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        self.limit_ = np.nanmax(np.abs(np.asarray(X, dtype=float)))
        return self

    def transform(self, X):
        return np.clip(np.asarray(X, dtype=float), -self.limit_, self.limit_)


model = Pipeline([("prep", preprocess), ("dense", FunctionTransformer(lambda m: m.toarray() if hasattr(m, "toarray") else m)),
                  ("clip", Clip()), ("reg", Ridge(alpha=2.0))])
predicted = cross_val_predict(model, X, spend, cv=KFold(5, shuffle=True, random_state=42))
print(f"mean prediction: {predicted.mean():.4f}")
