# The same statements, then its own call of the helper: the shared results it binds (spend) are there, though the helper itself could not travel.
from functools import lru_cache

import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")


@lru_cache(maxsize=None)
def region_spend(region):
    return round(float(df.loc[df["region"] == region, "spend"].mean()), 4)


spend = {region: region_spend(region) for region in sorted(df["region"].dropna().unique())}
hits = region_spend.cache_info().hits
first = region_spend(sorted(spend)[0])
hits_after = region_spend.cache_info().hits
