# The stdlib `random` module: seed, random(), sample(), shuffle() pick features and a holdout.
import random

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("tests/corpus/data/customers.csv")
random.seed(123)

candidates = ["tenure_months", "monthly_visits", "support_calls", "satisfaction", "age", "income"]
chosen = sorted(random.sample(candidates, 4))
threshold = 0.4 + 0.2 * random.random()
ids = list(range(len(df)))
random.shuffle(ids)
holdout_ids = sorted(ids[:300])
train_ids = sorted(ids[300:])

data = df[chosen + ["churn"]].fillna(0)
model = LogisticRegression(max_iter=1000)
model.fit(data.iloc[train_ids][chosen], data.iloc[train_ids]["churn"])
proba = model.predict_proba(data.iloc[holdout_ids][chosen])[:, 1]
holdout_acc = float(((proba > threshold).astype(int) == data.iloc[holdout_ids]["churn"].to_numpy()).mean())
print(f"chosen features: {chosen}, threshold {threshold:.3f}")
print(f"holdout accuracy: {holdout_acc:.4f}")
