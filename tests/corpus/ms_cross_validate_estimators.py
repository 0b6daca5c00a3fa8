# Model selection sharing (issue 10): cross_validate with return_estimator / return_train_score; the
# fitted fold estimators (their preprocessing shared with other scripts) stay in the namespace.
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
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate

model = Pipeline([("prep", preprocess), ("clf", LogisticRegression(max_iter=1000))])
result = cross_validate(model, X, y, cv=StratifiedKFold(4, shuffle=True, random_state=0),
                        scoring=["accuracy", "roc_auc"], return_estimator=True, return_train_score=True)
timings = sorted(k for k in result if k.endswith("_time"))
result = {k: v for k, v in result.items() if k not in timings}  # wall-clock times differ run to run
fold_estimators = result["estimator"]
fold_means = [est.named_steps["prep"].named_transformers_["num"].named_steps["scale"].mean_ for est in fold_estimators]
print(f"test auc: {np.round(result['test_roc_auc'], 4).tolist()}")
