# pd.get_dummies, groupby aggregates merged back, and a merge with a lookup table.
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import cross_val_score

df = pd.read_csv("tests/corpus/data/customers.csv")
regions = pd.read_csv("tests/corpus/data/regions.csv")

region_stats = (
    df.groupby("region")
    .agg(region_spend=("spend", "mean"), region_churn=("churn", "mean"), region_size=("customer_id", "count"))
    .reset_index()
)
plan_visits = df.groupby("plan")["monthly_visits"].transform("mean")
df["visits_vs_plan"] = df["monthly_visits"] - plan_visits
df = df.merge(region_stats, on="region", how="left").merge(regions, on="region", how="left")
dummies = pd.get_dummies(df[["plan", "signup_channel", "has_promo"]], dummy_na=True, dtype=int)
features = pd.concat([df[["visits_vs_plan", "region_churn", "region_size", "store_count", "urban", "income", "tenure_months"]], dummies], axis=1)

hgb = HistGradientBoostingRegressor(max_iter=80, random_state=0)
r2 = cross_val_score(hgb, features, df["spend"], cv=3, scoring="r2").mean()
print(region_stats.round(3).to_string(index=False))
print(f"{features.shape[1]} features, hgb r2 {r2:.4f}")
