# Effects pair (container stores, b): the same prefix; a frame stored as an object attribute and in a tuple, mutated through them.
import pandas as pd
from sklearn.linear_model import Ridge

df = pd.read_csv("tests/corpus/data/customers.csv")
train = df.iloc[:1000].copy()
test = df.iloc[1000:].copy()


class Holder:
    pass


holder = Holder()
holder.df = train
holder.df["income"] = holder.df["income"].fillna(-1)
pair = (test, train)
pair[0]["satisfaction"] = pair[0]["satisfaction"].fillna(3)
columns = sorted(train.columns)
missing_income = int(test["income"].isna().sum())
model = Ridge().fit(train[["income", "tenure_months"]].fillna(0), train["spend"])
print(f"{len(columns)} columns, {missing_income} missing incomes, coef {model.coef_.round(6).tolist()}")
