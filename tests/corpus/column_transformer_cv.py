# Pipeline with a ColumnTransformer (impute + scale / impute + one-hot) and cross_val_score.
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")

numeric_features = ["age", "income", "tenure_months", "monthly_visits", "support_calls", "satisfaction"]
categorical_features = ["region", "plan", "signup_channel", "has_promo"]
X = df[numeric_features + categorical_features]
y = df["churn"]

preprocess = ColumnTransformer(
    [
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric_features),
        (
            "cat",
            Pipeline(
                [
                    ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                    ("onehot", OneHotEncoder(handle_unknown="ignore")),
                ]
            ),
            categorical_features,
        ),
    ]
)
model = Pipeline([("prep", preprocess), ("clf", LogisticRegression(max_iter=1000, C=0.5))])
cv_scores = cross_val_score(model, X, y, cv=5, scoring="roc_auc")
print(f"cv roc_auc per fold: {np.round(cv_scores, 4).tolist()}")
print(f"mean roc_auc: {cv_scores.mean():.4f}")
