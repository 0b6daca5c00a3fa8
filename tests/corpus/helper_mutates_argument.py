# A helper that adds features to the frame it is given and returns nothing.
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

df = pd.read_csv("tests/corpus/data/customers.csv")


def add_features(frame):
    """Mutates `frame` in place (the usual notebook helper)."""
    frame["visits_per_tenure"] = frame["monthly_visits"] / frame["tenure_months"]
    frame["promo"] = (frame["has_promo"] == "yes").astype(int)
    frame["plan_level"] = frame["plan"].map({"basic": 0, "standard": 1, "premium": 2})
    frame.drop(columns=["has_promo"], inplace=True)


def fill_missing(frame, columns):
    for col in columns:
        frame[col] = frame[col].fillna(frame[col].mean())


add_features(df)
fill_missing(df, ["income", "age"])

cols = ["visits_per_tenure", "promo", "plan_level", "income", "age", "monthly_visits", "tenure_months"]
X_train, X_test, y_train, y_test = train_test_split(df[cols], df["spend"], test_size=0.2, random_state=3)
reg = Ridge(alpha=1.0).fit(X_train, y_train)
mae = mean_absolute_error(y_test, reg.predict(X_test))
print(f"ridge MAE on spend: {mae:.3f}")
