# A hand-written KFold loop accumulating fold scores and out-of-fold predictions.
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold

df = pd.read_csv("tests/corpus/data/customers.csv")
features = ["income", "monthly_visits", "tenure_months", "age"]
X = df[features].fillna(df[features].median()).to_numpy()
y = df["spend"].to_numpy()

kf = KFold(n_splits=5, shuffle=True, random_state=0)
fold_scores = []
oof = np.zeros(len(y))
for fold, (train_idx, val_idx) in enumerate(kf.split(X)):
    model = Ridge(alpha=0.5)
    model.fit(X[train_idx], y[train_idx])
    oof[val_idx] = model.predict(X[val_idx])
    fold_scores.append(r2_score(y[val_idx], oof[val_idx]))
    print(f"fold {fold}: r2={fold_scores[-1]:.4f}")

oof_r2 = r2_score(y, oof)
print(f"mean fold r2 {np.mean(fold_scores):.4f}, out-of-fold r2 {oof_r2:.4f}")
