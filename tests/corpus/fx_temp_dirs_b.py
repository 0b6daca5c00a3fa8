# The same mkdtemp statement as the a script: a directory of its own, so its listing holds its own file only.
import os
import tempfile

import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
os.makedirs(".stratum_tmp", exist_ok=True)
workdir = tempfile.mkdtemp(prefix="scratch_", dir=".stratum_tmp")
df.tail(5).to_csv(os.path.join(workdir, "tail_b.csv"))
in_scratch = sorted(os.listdir(workdir))
del workdir  # its name is random: only what is in it is compared
print(in_scratch)
