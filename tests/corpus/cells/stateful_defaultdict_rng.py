# Notebook cells (reads that change): defaultdict lookups insert keys; random.Random, numpy Generator and RandomState draws advance them.
import random
from collections import defaultdict
import numpy as np
counts = defaultdict(list)
gen = np.random.default_rng(1)
state = np.random.RandomState(2)
r = random.Random(3)
keys = sorted(counts)
draw = (round(float(gen.random()), 8), int(state.randint(100)), r.random())
# %%
probe = counts["x"]
keys = sorted(counts)
draw = (round(float(gen.random()), 8), int(state.randint(100)), r.random())
# %%
picked = r.sample(range(20), 3)
order = gen.permutation(4).tolist()
draw = (round(float(gen.random()), 8), int(state.randint(100)), r.random())
print(keys, draw, picked, order)
