# The same reader statement, its chunks listed: a reader of its own (shared, one script used up the other's; two threads reading one C parser crashed the kernel).
import pandas as pd

path = "tests/corpus/data/customers.csv"
columns = ["region", "spend"]
reader = pd.read_csv(path, usecols=columns, chunksize=100)
sizes = [len(chunk) for chunk in reader]
del reader
