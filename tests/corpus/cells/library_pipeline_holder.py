# Notebook cells (library objects holding user objects): fitting a Pipeline built around `model` fits `model`.
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
df = pd.read_csv("tests/corpus/data/customers.csv")
X, y = df[["tenure_months", "monthly_visits"]], df["churn"]
model = LogisticRegression(max_iter=200)
fitted = hasattr(model, "coef_")
# %%
pipe = Pipeline([("scale", StandardScaler()), ("model", model)])
pipe = pipe.fit(X, y)
# %%
fitted = hasattr(model, "coef_")
print(fitted, model.coef_.round(6).tolist())
