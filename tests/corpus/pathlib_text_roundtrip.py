import os
from pathlib import Path

import pandas as pd

os.makedirs(".stratum_tmp", exist_ok=True)
df = pd.read_csv("tests/corpus/data/customers.csv")
summary = df.groupby("plan")["spend"].mean().round(2)
Path(".stratum_tmp/plan_summary.txt").write_text(summary.to_string())
text = Path(".stratum_tmp/plan_summary.txt").read_text()
lines = text.splitlines()
print(f"{len(lines)} lines written and read back")
