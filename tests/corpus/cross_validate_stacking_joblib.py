# cross_validate with several scorers and train scores (its fit_time / score_time kept, as agents
# keep them), then a StackingRegressor refitted on everything and saved with joblib.dump.
import json
import os

import joblib
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor, StackingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_validate

X, y = load_diabetes(return_X_y=True, as_frame=True)
stack = StackingRegressor([("rf", RandomForestRegressor(n_estimators=10, random_state=0)), ("ridge", RidgeCV())],
                          final_estimator=RidgeCV())
cv_result = cross_validate(stack, X, y, cv=3, scoring=["r2", "neg_mean_absolute_error"], return_train_score=True)
os.makedirs(".stratum_tmp/stack", exist_ok=True)
stack.fit(X, y)
joblib.dump(stack, ".stratum_tmp/stack/model.joblib")
reloaded = joblib.load(".stratum_tmp/stack/model.joblib")
with open(".stratum_tmp/stack/metrics.json", "w") as f:
    json.dump({k: [round(float(x), 6) for x in v] for k, v in cv_result.items() if k.startswith("test_")}, f)
print(sorted(cv_result), round(cv_result["test_r2"].mean(), 4), reloaded.predict(X.iloc[:2]).round(3))
