# Notebook cells (wrappers): frames changed through `reversed`, `map` with an inplace lambda and a comprehension calling an `inplace=True` method.
import pandas as pd
df = pd.read_csv("tests/corpus/data/customers.csv")
train, test = df.iloc[:1000].copy(), df.iloc[1000:].copy()
width = train.shape[1]
# %%
for d in reversed([train, test]):
    d["calls_x2"] = d["support_calls"] * 2
width = train.shape[1]
# %%
list(map(lambda d: d.fillna({"income": 0}, inplace=True), [train, test]))
dropped = [d.drop(columns=["region"], inplace=True) for d in (train, test)]
# %%
width = train.shape[1]
income_missing = int(train["income"].isna().sum())
print(width, income_missing)
