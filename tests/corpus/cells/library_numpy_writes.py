# Notebook cells (library functions writing into arguments): `out=`, np.copyto and np.random.shuffle between identical reads.
import numpy as np
values = np.arange(8, dtype=float)
target = np.zeros(8)
head = target[:3].tolist()
# %%
product = np.multiply(values, 3.0, out=target)
# %%
head = target[:3].tolist()
np.copyto(values, target)
np.random.seed(0)
np.random.shuffle(values)
# %%
head = target[:3].tolist()
print(head, values.tolist())
