# Feature engineering by assigning new columns straight onto the loaded frame.
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

df = pd.read_csv("tests/corpus/data/customers.csv")

df["calls_per_month"] = df["support_calls"] / df["tenure_months"]
df["income"] = df["income"].fillna(df["income"].median())
df["log_income"] = np.log1p(df["income"])
df["is_premium"] = (df["plan"] == "premium").astype(int)
df["promo"] = (df["has_promo"] == "yes").astype(int)

features = ["calls_per_month", "log_income", "is_premium", "promo", "tenure_months", "monthly_visits"]
X_train, X_test, y_train, y_test = train_test_split(
    df[features], df["churn"], test_size=0.25, random_state=0
)

model = LogisticRegression(max_iter=1000)
model.fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
print(f"columns now: {len(df.columns)}")
print(f"accuracy: {accuracy:.4f}")
