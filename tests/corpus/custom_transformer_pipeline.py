# A custom transformer class (BaseEstimator, TransformerMixin) inside a Pipeline.
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")


class RatioFeatures(BaseEstimator, TransformerMixin):
    """Adds ratio features; learns nothing but the input columns."""

    def __init__(self, eps=1.0):
        self.eps = eps

    def fit(self, X, y=None):
        self.columns_ = list(X.columns)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        X = X.copy()
        X["calls_per_visit"] = X["support_calls"] / (X["monthly_visits"] + self.eps)
        X["visits_per_tenure"] = X["monthly_visits"] / (X["tenure_months"] + self.eps)
        return X


numeric = ["support_calls", "monthly_visits", "tenure_months", "satisfaction", "age", "income"]
X_train, X_test, y_train, y_test = train_test_split(df[numeric], df["churn"], test_size=0.25, random_state=21)
pipe = Pipeline(
    [
        ("ratios", RatioFeatures(eps=0.5)),
        ("impute", SimpleImputer(strategy="median")),
        ("scale", StandardScaler()),
        ("clf", LogisticRegression(max_iter=1000)),
    ]
)
pipe.fit(X_train, y_train)
test_acc = pipe.score(X_test, y_test)
coefs = pipe.named_steps["clf"].coef_.round(3)
print(f"pipeline accuracy: {test_acc:.4f}")
print(f"coefficients: {coefs.tolist()}")
