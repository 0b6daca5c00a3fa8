# Effects pair (reads that change, b): the same prefix; a defaultdict whose lookups insert keys, and the iterators consumed through builtins.
from collections import defaultdict

import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
columns = iter(["spend", "income", "age", "tenure_months"])
rows = (int(v) for v in df["monthly_visits"].head(6))
counts = defaultdict(int)
probe = counts["north"] + counts["south"]
total = sum(rows)
first = next(columns)
rest = list(columns)
left = list(rows)
known = sorted(counts)
print(first, total, rest, left, known, probe)
del columns, rows
