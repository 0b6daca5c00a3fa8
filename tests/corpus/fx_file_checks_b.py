# The a script's checks, statement for statement: run after a, they find the file a wrote (shared with a's, they would not).
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
