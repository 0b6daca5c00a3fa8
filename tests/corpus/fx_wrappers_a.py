# Effects pair (wrappers, a): frames mutated through `enumerate` and `zip` loop variables.
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("tests/corpus/data/customers.csv")
train = df.iloc[:1000].copy()
test = df.iloc[1000:].copy()
frames = [train, test]
for i, d in enumerate(frames):
    d["age"] = d["age"].fillna(40 + i)
for d, scale in zip((train, test), (12, 12)):
    d["tenure_years"] = d["tenure_months"] / scale
columns = sorted(train.columns)
features = [c for c in ["age", "tenure_years", "support_calls"] if c in train.columns]
model = LogisticRegression(max_iter=300).fit(train[features].fillna(0), train["churn"])
score = model.score(test[features].fillna(0), test["churn"])
print(f"{len(columns)} columns, accuracy {score:.4f}")
