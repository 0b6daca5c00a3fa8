# Lasso over a few alphas on the bundled diabetes data; counts of nonzero coefficients.
import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso
from sklearn.model_selection import cross_val_score

X, y = load_diabetes(return_X_y=True, as_frame=True)
summary = []
for alpha in [0.01, 0.1, 1.0]:
    lasso = Lasso(alpha=alpha, max_iter=5000)
    r2 = cross_val_score(lasso, X, y, cv=5).mean()
    lasso.fit(X, y)
    nonzero = int(np.sum(lasso.coef_ != 0))
    summary.append({"alpha": alpha, "cv_r2": round(float(r2), 4), "nonzero": nonzero})
summary_df = pd.DataFrame(summary)
print(summary_df.to_string(index=False))
