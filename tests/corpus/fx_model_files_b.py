# The same file path for its own model, saved at once: it waits for a's load (save_model/load_model were no file access: a loaded b's model).
import os
import numpy as np
import xgboost as xgb
os.makedirs(".stratum_tmp/models", exist_ok=True)
rng = np.random.default_rng(0)
X = rng.normal(size=(400, 5))
y = X[:, 0] + rng.normal(scale=0.1, size=400)
model = xgb.XGBRegressor(n_estimators=20, max_depth=3, random_state=0, n_jobs=1)
model.fit(X, y)
model.save_model(".stratum_tmp/models/latest.json")
check = 0
loaded = xgb.XGBRegressor()
loaded.load_model(".stratum_tmp/models/latest.json")
pred = loaded.predict(X[:5]).round(4)
