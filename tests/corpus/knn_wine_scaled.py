# KNN variants on the bundled wine dataset: scaled vs unscaled, several k.
import numpy as np
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

wine = load_wine(as_frame=True)
frame = wine.frame
X = frame.drop(columns="target")
y = frame["target"]
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=1)

knn_scores = {}
for k in (3, 7, 15):
    raw = cross_val_score(KNeighborsClassifier(n_neighbors=k), X, y, cv=cv).mean()
    scaled = cross_val_score(make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=k)), X, y, cv=cv).mean()
    knn_scores[k] = (round(float(raw), 4), round(float(scaled), 4))
    print(f"k={k:>2}: raw {raw:.4f}  scaled {scaled:.4f}")
