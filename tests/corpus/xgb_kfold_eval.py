# An agent's XGBoost candidate: the same KFold loop around an XGBRegressor with an eval set, fold scores collected in a list, the last fold's model kept.
import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import KFold
from xgboost import XGBRegressor

df = pd.read_csv("tests/corpus/data/customers.csv")
df = df.dropna().reset_index(drop=True)
X = df.select_dtypes("number").drop(columns=["spend", "customer_id"])
y = df["spend"]
scores = []
for fold, (tr, va) in enumerate(KFold(n_splits=3, shuffle=True, random_state=2).split(X)):
    model = XGBRegressor(n_estimators=40, max_depth=4, learning_rate=0.1, random_state=0)
    model.fit(X.iloc[tr], y.iloc[tr], eval_set=[(X.iloc[va], y.iloc[va])], verbose=False)
    scores.append(mean_absolute_error(y.iloc[va], model.predict(X.iloc[va])))
mae = float(np.mean(scores))
print(f"MAE {mae:.3f} over {len(scores)} folds")
