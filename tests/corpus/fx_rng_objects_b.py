# Effects pair (RNG objects, b): the same prefix; draws through random.Random and functions handed the generators.
import random

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("tests/corpus/data/customers.csv")
gen = np.random.default_rng(7)
state = np.random.RandomState(7)
r = random.Random(3)
cols = r.sample(list(df.columns), 3)
train, test = train_test_split(df, test_size=0.2, random_state=state)
order = gen.permutation(5)
after = (gen.random(), state.randint(1000), r.random())
print(cols, train.index[:5].tolist(), order.tolist(), after)
