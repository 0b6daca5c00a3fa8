# A function that updates module-level state through `global`.
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")
X = df[["tenure_months", "monthly_visits", "support_calls", "age"]].fillna(40)
y = df["churn"]

n_calls = 0
best_score = -1.0
best_C = None
history = []


def evaluate(C):
    global n_calls, best_score, best_C
    n_calls += 1
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=500))
    score = cross_val_score(model, X, y, cv=3).mean()
    history.append(score)
    if score > best_score:
        best_score = score
        best_C = C
    return score


for C in [0.01, 0.1, 1.0, 10.0]:
    evaluate(C)
print(f"{n_calls} evaluations, best C={best_C} score={best_score:.4f}")
