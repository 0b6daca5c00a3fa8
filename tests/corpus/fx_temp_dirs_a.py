# A scratch directory from tempfile.mkdtemp, a file written into it and the directory listed; the b script makes its own the same way.
import os
import tempfile

import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
os.makedirs(".stratum_tmp", exist_ok=True)
workdir = tempfile.mkdtemp(prefix="scratch_", dir=".stratum_tmp")
df.head(5).to_csv(os.path.join(workdir, "head_a.csv"))
in_scratch = sorted(os.listdir(workdir))
del workdir  # its name is random: only what is in it is compared
print(in_scratch)
