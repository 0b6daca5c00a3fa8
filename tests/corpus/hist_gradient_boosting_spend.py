# HistGradientBoostingRegressor on raw features with missing values (handled natively).
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

df = pd.read_csv("tests/corpus/data/customers.csv")
df["plan_level"] = df["plan"].map({"basic": 0, "standard": 1, "premium": 2})
features = ["plan_level", "income", "monthly_visits", "tenure_months", "age", "satisfaction"]
X_train, X_test, y_train, y_test = train_test_split(df[features], df["spend"], test_size=0.2, random_state=13)

hgb = HistGradientBoostingRegressor(max_iter=120, learning_rate=0.08, max_leaf_nodes=15, early_stopping=False, random_state=0)
hgb.fit(X_train, y_train)
test_mae = mean_absolute_error(y_test, hgb.predict(X_test))
print(f"iterations: {hgb.n_iter_}")
print(f"hgb test MAE: {test_mae:.3f}")
