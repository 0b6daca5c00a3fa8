# Aliases of the loaded frame (`data = df`) are mutated; df sees the change too.
import numpy as np
import pandas as pd
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import train_test_split

df = pd.read_csv("tests/corpus/data/customers.csv")

data = df
data["tenure_years"] = data["tenure_months"] / 12
raw = df
raw.loc[raw["age"].isna(), "age"] = raw["age"].median()
raw.loc[raw["satisfaction"].isna(), "satisfaction"] = 3.5
same_object = data is df and raw is df

X = df[["tenure_years", "age", "satisfaction", "support_calls", "monthly_visits"]].to_numpy()
y = df["churn"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=11)
scaler = StandardScaler().fit(X_train)
knn = KNeighborsClassifier(n_neighbors=15)
knn.fit(scaler.transform(X_train), y_train)
knn_acc = knn.score(scaler.transform(X_test), y_test)
print(f"aliases share the frame: {same_object}")
print(f"knn accuracy: {knn_acc:.4f}")
