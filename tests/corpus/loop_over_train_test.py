# The same feature steps applied to train and test with `for d in (train, test)`.
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

df = pd.read_csv("tests/corpus/data/customers.csv")
train, test = train_test_split(df, test_size=0.3, random_state=7)
train = train.copy()
test = test.copy()

age_fill = train["age"].median()
for d in (train, test):
    d["age"] = d["age"].fillna(age_fill)
    d["senior"] = (d["age"] >= 60).astype(int)
    d["visits_x_calls"] = d["monthly_visits"] * d["support_calls"]
    d["promo"] = (d["has_promo"] == "yes").astype(int)

features = ["age", "senior", "visits_x_calls", "promo", "tenure_months", "satisfaction", "income"]
clf = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, random_state=0)
clf.fit(train[features], train["churn"])
auc = roc_auc_score(test["churn"], clf.predict_proba(test[features])[:, 1])
print(f"train rows {len(train)}, test rows {len(test)}")
print(f"hgb AUC: {auc:.4f}")
