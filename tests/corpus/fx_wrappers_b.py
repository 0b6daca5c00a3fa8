# Effects pair (wrappers, b): the same prefix; frames mutated through `reversed`, `map` with an inplace lambda and a list comprehension calling an `inplace=True` method.
import pandas as pd
from sklearn.linear_model import LogisticRegression

df = pd.read_csv("tests/corpus/data/customers.csv")
train = df.iloc[:1000].copy()
test = df.iloc[1000:].copy()
frames = [train, test]
for d in reversed(frames):
    d["visits_x_calls"] = d["monthly_visits"] * d["support_calls"]
list(map(lambda d: d.fillna({"age": 35}, inplace=True), frames))
[d.drop(columns=["region"], inplace=True) for d in (train, test)]
columns = sorted(train.columns)
features = [c for c in ["age", "tenure_years", "support_calls"] if c in train.columns]
model = LogisticRegression(max_iter=300).fit(train[features].fillna(0), train["churn"])
score = model.score(test[features].fillna(0), test["churn"])
print(f"{len(columns)} columns, accuracy {score:.4f}")
