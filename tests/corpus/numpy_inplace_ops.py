# numpy arrays modified in place: +=, /=, boolean-mask assignment, np.random.shuffle.
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("tests/corpus/data/customers.csv")
np.random.seed(3)

X = df[["age", "income", "tenure_months", "monthly_visits", "support_calls"]].to_numpy(dtype=float, copy=True)
y = df["churn"].to_numpy(copy=True)

col_means = np.nanmean(X, axis=0)
rows, cols = np.where(np.isnan(X))
X[rows, cols] = col_means[cols]
X -= X.mean(axis=0)
X /= X.std(axis=0)
outliers = np.abs(X) > 3
X[outliers] = 0
n_clipped = int(outliers.sum())

counts = np.zeros(3, dtype=int)
counts += np.bincount(df["support_calls"].clip(upper=2).to_numpy(), minlength=3)
counts[0] += 1

order = np.arange(len(X))
np.random.shuffle(order)
X = X[order]
y = y[order]
split = int(0.8 * len(X))
clf = LogisticRegression(max_iter=500).fit(X[:split], y[:split])
holdout_acc = clf.score(X[split:], y[split:])
print(f"clipped {n_clipped} values, counts {counts.tolist()}")
print(f"holdout accuracy after shuffle: {holdout_acc:.4f}")
