# An agent's "compute once" check: os.path.exists / Path.exists before writing a marker file; the b script checks the same path after this one wrote it.
import os
from pathlib import Path

import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
os.makedirs(".stratum_tmp/file_checks", exist_ok=True)
existed = os.path.exists(".stratum_tmp/file_checks/summary.csv")
path_existed = Path(".stratum_tmp/file_checks/summary.csv").exists()
if not existed:
    df.describe().to_csv(".stratum_tmp/file_checks/summary.csv")
print(existed, path_existed)
