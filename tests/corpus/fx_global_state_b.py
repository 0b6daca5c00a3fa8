# Effects pair (globals, b): the same prefix; a decorator registers functions in a module-level dict, and a class body appends to a module-level list when it runs.
import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")
results = []
seen = {}


def register(function):
    seen[function.__name__] = len(seen)
    return function


@register
def mean_spend(frame):
    return float(frame["spend"].mean())


class Report:
    results.append("report defined")
    kind = "summary"


log = list(results)
summary = {"n": len(results), "keys": sorted(seen)}
print(summary, log)
