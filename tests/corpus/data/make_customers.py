"""Generate the small customer table the fidelity corpus reads.

Seeded and deterministic: running it again rewrites byte-identical files.
    python tests/corpus/data/make_customers.py [N_ROWS]
Writes customers.csv (mixed types, some missing values, targets `churn` and `spend`)
and regions.csv (a small lookup table to merge on `region`) next to this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REGIONS = ["north", "south", "east", "west", "central"]
PLANS = ["basic", "standard", "premium"]
CHANNELS = ["web", "store", "partner", "phone"]


def make_customers(n_rows: int = 1500, seed: int = 20240611) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, size=n_rows, p=[0.25, 0.2, 0.2, 0.2, 0.15])
    plan = rng.choice(PLANS, size=n_rows, p=[0.5, 0.35, 0.15])
    channel = rng.choice(CHANNELS, size=n_rows).astype(object)
    age = rng.integers(18, 80, size=n_rows).astype(float)
    tenure = rng.integers(1, 73, size=n_rows)
    income = np.round(rng.lognormal(mean=10.6, sigma=0.4, size=n_rows), 2)
    visits = rng.poisson(6, size=n_rows)
    calls = rng.poisson(1.2, size=n_rows)
    promo = rng.choice(["yes", "no"], size=n_rows, p=[0.3, 0.7])
    satisfaction = np.round(np.clip(rng.normal(3.6, 0.9, size=n_rows), 1, 5), 1)

    plan_level = pd.Series(plan).map({"basic": 0, "standard": 1, "premium": 2}).to_numpy()
    spend = (
        20
        + 15 * plan_level
        + 0.0004 * income
        + 2.5 * visits
        + 0.3 * tenure
        + rng.normal(0, 8, size=n_rows)
    )
    logit = (
        -0.6
        + 0.55 * calls
        - 0.035 * tenure
        - 0.45 * (satisfaction - 3.6)
        + 0.4 * (promo == "no")
        - 0.3 * plan_level
        + rng.normal(0, 0.5, size=n_rows)
    )
    churn = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(int)

    # Missing values, as real exports have them.
    age[rng.random(n_rows) < 0.06] = np.nan
    income[rng.random(n_rows) < 0.05] = np.nan
    satisfaction[rng.random(n_rows) < 0.04] = np.nan
    channel[rng.random(n_rows) < 0.05] = None

    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n_rows + 1),
            "region": region,
            "plan": plan,
            "signup_channel": channel,
            "age": age,
            "income": income,
            "tenure_months": tenure,
            "monthly_visits": visits,
            "support_calls": calls,
            "has_promo": promo,
            "satisfaction": satisfaction,
            "spend": np.round(spend, 2),
            "churn": churn,
        }
    )


def make_regions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": REGIONS,
            "population_k": [820, 640, 710, 560, 930],
            "store_count": [14, 9, 11, 7, 18],
            "urban": [1, 0, 1, 0, 1],
        }
    )


def main(argv: list[str]) -> None:
    n_rows = int(argv[1]) if len(argv) > 1 else 1500
    make_customers(n_rows).to_csv(HERE / "customers.csv", index=False)
    make_regions().to_csv(HERE / "regions.csv", index=False)


if __name__ == "__main__":
    main(sys.argv)
