# train_test_split with stratify on a bundled dataset (breast cancer, as_frame=True).
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

bunch = load_breast_cancer(as_frame=True)
X = bunch.data
y = bunch.target
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=42)
train_balance = y_train.mean()
test_balance = y_test.mean()

clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=2000))
clf.fit(X_train, y_train)
y_pred = clf.predict(X_test)
report = classification_report(y_test, y_pred, output_dict=True)
print(f"class balance train {train_balance:.3f} / test {test_balance:.3f}")
print(f"test accuracy: {report['accuracy']:.4f}, macro f1: {report['macro avg']['f1-score']:.4f}")
