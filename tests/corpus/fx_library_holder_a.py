# Effects pair (library objects holding user objects, a): fitting a Pipeline built around `model` fits `model`.
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")
X = df[["tenure_months", "monthly_visits", "support_calls"]]
y = df["churn"]
model = LogisticRegression(C=0.5, max_iter=300)
scaler = StandardScaler()
pipe = Pipeline([("scale", scaler), ("model", model)])
pipe.fit(X, y)
fitted = hasattr(model, "coef_")
coef = model.coef_.round(6).tolist() if fitted else None
print(fitted, coef)
