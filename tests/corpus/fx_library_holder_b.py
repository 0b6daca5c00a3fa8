# Effects pair (library objects holding user objects, b): the same prefix; a make_pipeline and a VotingClassifier around user objects, fitted.
import pandas as pd
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("tests/corpus/data/customers.csv")
X = df[["tenure_months", "monthly_visits", "support_calls"]]
y = df["churn"]
model = LogisticRegression(C=0.5, max_iter=300)
scaler = StandardScaler()
chain = make_pipeline(scaler, LogisticRegression(max_iter=300))
chain.fit(X, y)
vote = VotingClassifier([("a", chain)], voting="soft").fit(X, y)
pipe = make_pipeline(StandardScaler(), model).fit(X, y)
fitted = hasattr(model, "coef_")
coef = model.coef_.round(6).tolist() if fitted else None
print(fitted, coef, scaler.mean_.round(4).tolist())
