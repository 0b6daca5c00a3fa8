# An agent's LightGBM candidate: a hand-written KFold loop with an eval set and early stopping per fold, out-of-fold predictions filled in place, library-default threads.
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

df = pd.read_csv("tests/corpus/data/customers.csv")
df = df.dropna().reset_index(drop=True)
X = df.select_dtypes("number").drop(columns=["churn", "customer_id"])
y = df["churn"]
oof = np.zeros(len(X))
best = []
kf = KFold(n_splits=3, shuffle=True, random_state=1)
for fold, (tr, va) in enumerate(kf.split(X)):
    model = lgb.LGBMClassifier(n_estimators=60, learning_rate=0.1, num_leaves=15, verbose=-1, random_state=fold)
    model.fit(X.iloc[tr], y.iloc[tr], eval_set=[(X.iloc[va], y.iloc[va])],
              callbacks=[lgb.early_stopping(10, verbose=False)])
    oof[va] = model.predict_proba(X.iloc[va])[:, 1]
    best.append(model.best_iteration_)
    print(f"fold {fold}: best iteration {model.best_iteration_}")
accuracy = float(((oof > 0.5) == y.to_numpy()).mean())
print(f"OOF accuracy {accuracy:.4f}")
