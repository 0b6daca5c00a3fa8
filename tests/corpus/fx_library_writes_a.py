# Effects pair (library functions writing into arguments, a): `out=`, np.copyto and np.random.shuffle.
import numpy as np
import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
values = df["spend"].to_numpy().copy()
buffer = np.zeros(len(values))
np.multiply(values, 2.0, out=buffer)
np.copyto(values, buffer[::-1])
np.random.seed(5)
np.random.shuffle(values)
head = values[:4].round(4).tolist()
total = round(float(buffer.sum()), 4)
print(head, total)
