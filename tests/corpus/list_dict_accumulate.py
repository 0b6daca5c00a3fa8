# Results accumulated in a list (append) and a dict (scores[k] = v) over a small sweep.
import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_score
from sklearn.tree import DecisionTreeClassifier

df = pd.read_csv("tests/corpus/data/customers.csv")
X = df[["tenure_months", "monthly_visits", "support_calls", "satisfaction", "income"]].fillna(-1)
y = df["churn"]

results = []
scores = {}
for depth in [2, 4, 6, 8]:
    tree = DecisionTreeClassifier(max_depth=depth, random_state=0)
    mean_score = cross_val_score(tree, X, y, cv=4).mean()
    results.append((depth, round(float(mean_score), 4)))
    scores[f"depth_{depth}"] = float(mean_score)

best_depth, best_score = max(results, key=lambda r: r[1])
results.sort(key=lambda r: -r[1])
scores.pop("depth_8")
scores.update({"best": best_score})
for depth, score in results:
    print(f"max_depth={depth}: {score:.4f}")
print(f"best depth {best_depth}")
