# Notebook cells (wrappers): frames changed through `enumerate` and `zip` loop variables between two identical reads.
import pandas as pd
df = pd.read_csv("tests/corpus/data/customers.csv")
train, test = df.iloc[:1000].copy(), df.iloc[1000:].copy()
columns = sorted(train.columns)
# %%
for i, d in enumerate([train, test]):
    d["age"] = d["age"].fillna(40 + i)
# %%
for d, scale in zip((train, test), (12, 24)):
    d["tenure_scaled"] = d["tenure_months"] / scale
# %%
columns = sorted(train.columns)
missing = int(test["age"].isna().sum())
print(len(columns), missing)
