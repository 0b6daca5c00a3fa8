# Effects pair (reads that change, a): an iterator and a generator advanced by `next` and by loops.
import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
columns = iter(["spend", "income", "age", "tenure_months"])
rows = (int(v) for v in df["monthly_visits"].head(6))
first = next(columns)
skipped = next(rows)
for value in rows:
    if value > 3:
        break
rest = list(columns)
left = list(rows)
print(first, skipped, rest, left)
del columns, rows
