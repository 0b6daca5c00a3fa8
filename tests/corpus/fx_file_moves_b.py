# The a script's draft, copy and move again, on the file this script wrote; then one more file: the same listing statement as a's sees it.
import os
import shutil

import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
os.makedirs(".stratum_tmp/file_moves", exist_ok=True)
df.groupby("region")["spend"].mean().round(2).to_csv(".stratum_tmp/file_moves/draft.csv")
shutil.copy(".stratum_tmp/file_moves/draft.csv", ".stratum_tmp/file_moves/backup.csv")
os.replace(".stratum_tmp/file_moves/draft.csv", ".stratum_tmp/file_moves/report.csv")
df.head(3).to_csv(".stratum_tmp/file_moves/sample_b.csv")
listed = sorted(os.listdir(".stratum_tmp/file_moves"))
print(listed)
