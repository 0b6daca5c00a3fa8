# Effects pair (RNG objects, a): draws from numpy Generator and RandomState objects advance them.
import numpy as np
import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
gen = np.random.default_rng(7)
state = np.random.RandomState(7)
noise = gen.normal(size=3)
picked = state.choice(len(df), size=4, replace=False)
sample = df.sample(n=3, random_state=state)
after = (gen.random(), state.randint(1000))
print(noise.round(6).tolist(), picked.tolist(), sample.index.tolist(), after)
