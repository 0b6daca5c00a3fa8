# Closures and lambdas that read globals (rebound later) inside apply/map/sorted.
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import cross_val_score

df = pd.read_csv("tests/corpus/data/customers.csv")
threshold = 60
plan_codes = {"basic": 0, "standard": 1, "premium": 2}


def make_scaler(factor):
    def scale(x):
        return x * factor / threshold

    return scale


scale_income = make_scaler(0.01)
is_senior = lambda a: int(a > threshold) if pd.notna(a) else -1

df["senior"] = df["age"].apply(is_senior)
df["plan_code"] = df["plan"].map(lambda p: plan_codes[p])
threshold = 50  # the closure and the lambda see the new value from here on
df["income_scaled"] = scale_income(df["income"].fillna(0))
df["senior_50"] = df["age"].apply(is_senior)
top_regions = sorted(df["region"].unique(), key=lambda r: -(df["region"] == r).sum())

X = df[["senior", "plan_code", "income_scaled", "monthly_visits", "tenure_months"]]
reg = RandomForestRegressor(n_estimators=30, max_depth=6, random_state=5)
r2 = cross_val_score(reg, X, df["spend"], cv=3, scoring="r2").mean()
print(f"regions by size: {top_regions}")
print(f"seniors at 60: {(df['senior'] == 1).sum()}, at 50: {(df['senior_50'] == 1).sum()}")
print(f"rf r2: {r2:.4f}")
