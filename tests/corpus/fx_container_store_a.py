# Effects pair (container stores, a): frames stored in a dict and a list, then mutated through the container.
import pandas as pd
from sklearn.linear_model import Ridge

df = pd.read_csv("tests/corpus/data/customers.csv")
train = df.iloc[:1000].copy()
test = df.iloc[1000:].copy()
frames = {}
frames["train"] = train
frames["test"] = test
for name in ("train", "test"):
    frames[name]["income"] = frames[name]["income"].fillna(0)
stack = []
stack.append(train)
stack[0]["spend_per_visit"] = stack[0]["spend"] / stack[0]["monthly_visits"].clip(lower=1)
columns = sorted(train.columns)
missing_income = int(test["income"].isna().sum())
model = Ridge().fit(train[["income", "tenure_months"]].fillna(0), train["spend"])
print(f"{len(columns)} columns, {missing_income} missing incomes, coef {model.coef_.round(6).tolist()}")
