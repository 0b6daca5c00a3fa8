# Multiclass logistic regression on the bundled iris frame; fit then predict on new rows.
import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

iris = load_iris(as_frame=True)
df = iris.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
df["petal_area"] = df["petal_length"] * df["petal_width"]
X = df.drop(columns="target")
y = df["target"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

clf = LogisticRegression(max_iter=2000, C=2.0)
clf.fit(X_train, y_train)
test_acc = clf.score(X_test, y_test)
new_flowers = pd.DataFrame(
    [[5.0, 3.4, 1.5, 0.2, 0.3], [6.7, 3.0, 5.2, 2.3, 11.96]], columns=X.columns
)
predicted = [iris.target_names[i] for i in clf.predict(new_flowers)]
print(f"iris accuracy: {test_acc:.4f}")
print(f"new flowers: {predicted}")
