# Notebook cells (library objects holding user objects): make_pipeline around a user scaler, fitted through the pipeline.
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
df = pd.read_csv("tests/corpus/data/customers.csv")
X, y = df[["tenure_months", "monthly_visits"]], df["spend"]
scaler = StandardScaler()
ready = hasattr(scaler, "mean_")
# %%
chain = make_pipeline(scaler, Ridge())
chain = chain.fit(X, y)
# %%
ready = hasattr(scaler, "mean_")
print(ready, scaler.mean_.round(4).tolist())
