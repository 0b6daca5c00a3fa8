# A helper memoized with functools.lru_cache (its wrapper cannot be pickled): called by statements the b script shares.
from functools import lru_cache

import pandas as pd

df = pd.read_csv("tests/corpus/data/customers.csv")


@lru_cache(maxsize=None)
def region_spend(region):
    return round(float(df.loc[df["region"] == region, "spend"].mean()), 4)


spend = {region: region_spend(region) for region in sorted(df["region"].dropna().unique())}
hits = region_spend.cache_info().hits
