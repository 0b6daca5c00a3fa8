# A dict of candidate models (LogReg / RandomForest / HistGradientBoosting / KNN) fitted in a loop.
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")
features = ["tenure_months", "monthly_visits", "support_calls", "satisfaction", "income", "age"]
X = df[features].fillna(df[features].median())
y = df["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=5, stratify=y)

models = {
    "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    "random_forest": RandomForestClassifier(n_estimators=40, max_depth=6, random_state=0),
    "hist_gb": HistGradientBoostingClassifier(max_iter=50, random_state=0),
    "knn": make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=11)),
}
results = {}
for name, model in models.items():
    model.fit(X_train, y_train)
    results[name] = accuracy_score(y_test, model.predict(X_test))

leaderboard = pd.DataFrame({"model": list(results), "accuracy": list(results.values())})
leaderboard = leaderboard.sort_values("accuracy", ascending=False, kind="mergesort").reset_index(drop=True)
best_name = leaderboard.loc[0, "model"]
best_model = models[best_name]
print(leaderboard.round(4).to_string(index=False))
print(f"best: {best_name}")
