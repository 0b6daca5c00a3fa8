# A CSV read in chunks (`chunksize=`): the reader is an iterator the loop uses up; the b script makes the same reader.
import pandas as pd

path = "tests/corpus/data/customers.csv"
columns = ["region", "spend"]
reader = pd.read_csv(path, usecols=columns, chunksize=100)
total = 0
for chunk in reader:
    total += len(chunk)
del reader
