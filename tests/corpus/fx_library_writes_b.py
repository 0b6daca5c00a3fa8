# Effects pair (library functions writing into arguments, b): the same prefix; random.shuffle, heapq, bisect.insort and dict.setdefault.
import bisect
import heapq
import random

import numpy as np
import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
values = df["spend"].to_numpy().copy()
buffer = np.zeros(len(values))
top = list(values[:8])
heapq.heapify(top)
heapq.heappush(top, 0.5)
smallest = heapq.heappop(top)
ordered = sorted(values[:5].tolist())
bisect.insort(ordered, 100.0)
groups = {}
groups.setdefault("a", []).append(1)
random.seed(4)
names = list(df.columns[:6])
random.shuffle(names)
head = values[:4].round(4).tolist()
total = round(float(buffer.sum()), 4)
print(head, total, smallest, ordered, groups, names, sorted(top)[:3])
