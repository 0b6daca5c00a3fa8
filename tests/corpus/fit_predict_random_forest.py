# .fit on an estimator, then .predict / .predict_proba and metrics on held-out data.
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import confusion_matrix, roc_auc_score
from sklearn.model_selection import train_test_split

df = pd.read_csv("tests/corpus/data/customers.csv")
df["promo"] = (df["has_promo"] == "yes").astype(int)
features = ["tenure_months", "monthly_visits", "support_calls", "promo", "income", "age", "satisfaction"]
X = df[features].fillna(-1)
y = df["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=8)

rf = RandomForestClassifier(n_estimators=60, max_depth=7, min_samples_leaf=3, random_state=8)
rf.fit(X_train, y_train)
y_pred = rf.predict(X_test)
y_proba = rf.predict_proba(X_test)[:, 1]
cm = confusion_matrix(y_test, y_pred)
auc = roc_auc_score(y_test, y_proba)
importance = pd.Series(rf.feature_importances_, index=features).sort_values(ascending=False)
print(f"confusion matrix: {cm.tolist()}")
print(f"AUC: {auc:.4f}")
print(importance.round(3).to_string())
