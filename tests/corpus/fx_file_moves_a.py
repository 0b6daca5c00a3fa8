# A report written as a draft, copied aside and moved into place (os/shutil move, copy): the b script runs the same statements.
import os
import shutil

import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
os.makedirs(".stratum_tmp/file_moves", exist_ok=True)
df.groupby("region")["spend"].mean().round(2).to_csv(".stratum_tmp/file_moves/draft.csv")
shutil.copy(".stratum_tmp/file_moves/draft.csv", ".stratum_tmp/file_moves/backup.csv")
os.replace(".stratum_tmp/file_moves/draft.csv", ".stratum_tmp/file_moves/report.csv")
listed = sorted(os.listdir(".stratum_tmp/file_moves"))
print(listed)
