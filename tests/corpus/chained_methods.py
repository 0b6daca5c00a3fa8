# Long method chains: dropna().assign().query().pipe(), groupby().agg().sort_values().
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

df = pd.read_csv("tests/corpus/data/customers.csv")


def drop_rare_channels(frame, min_count=50):
    counts = frame["signup_channel"].value_counts()
    keep = counts[counts >= min_count].index
    return frame[frame["signup_channel"].isin(keep)]


features = (
    df.dropna(subset=["income", "signup_channel"])
    .assign(log_income=lambda d: np.log(d["income"]), tenure_years=lambda d: d["tenure_months"] / 12)
    .query("tenure_months > 3 and monthly_visits >= 1")
    .pipe(drop_rare_channels, min_count=100)
    .loc[:, ["log_income", "tenure_years", "monthly_visits", "plan", "spend"]]
    .reset_index(drop=True)
)
plan_summary = (
    features.groupby("plan")["spend"].agg(["mean", "median", "count"]).round(2).sort_values("mean", ascending=False)
)
lin = LinearRegression().fit(features[["log_income", "tenure_years", "monthly_visits"]], features["spend"])
r2 = lin.score(features[["log_income", "tenure_years", "monthly_visits"]], features["spend"])
print(plan_summary.to_string())
print(f"rows after chain: {len(features)}, in-sample r2: {r2:.4f}")
