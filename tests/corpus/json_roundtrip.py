# A config and a metrics report written as JSON under .stratum_tmp/ and read back.
import json
import os

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

df = pd.read_csv("tests/corpus/data/customers.csv")
os.makedirs(".stratum_tmp", exist_ok=True)

config = {"n_estimators": 30, "max_depth": 5, "features": ["tenure_months", "support_calls", "monthly_visits"]}
with open(".stratum_tmp/json_roundtrip_config.json", "w") as fh:
    json.dump(config, fh, indent=2)
with open(".stratum_tmp/json_roundtrip_config.json") as fh:
    cfg = json.load(fh)

X_train, X_test, y_train, y_test = train_test_split(df[cfg["features"]], df["churn"], test_size=0.2, random_state=2)
rf = RandomForestClassifier(n_estimators=cfg["n_estimators"], max_depth=cfg["max_depth"], random_state=0)
rf.fit(X_train, y_train)
pred = rf.predict(X_test)
metrics = {"accuracy": round(float(accuracy_score(y_test, pred)), 4), "f1": round(float(f1_score(y_test, pred)), 4)}
with open(".stratum_tmp/json_roundtrip_metrics.json", "w") as fh:
    json.dump(metrics, fh)
with open(".stratum_tmp/json_roundtrip_metrics.json") as fh:
    reloaded = json.load(fh)
print(json.dumps(reloaded, sort_keys=True))
