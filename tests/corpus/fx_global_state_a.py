# Effects pair (globals, a): a helper appends to a module-level list and updates a module-level dict it reaches through globals.
import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
results = []
seen = {}


def record(column):
    results.append((column, round(float(df[column].mean()), 4)))
    seen[column] = len(results)


record("spend")
record("income")
log = list(results)
summary = {"n": len(results), "keys": sorted(seen)}
print(summary, log)
