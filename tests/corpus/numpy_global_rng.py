# The global numpy RNG: np.random.seed, then rand/choice draws and an estimator with random_state=None.
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

df = pd.read_csv("tests/corpus/data/customers.csv")
np.random.seed(42)

df["noise"] = np.random.rand(len(df))
sample_idx = np.random.choice(len(df), size=300, replace=False)
sample = df.iloc[sample_idx]
boot_means = np.array([df["spend"].iloc[np.random.choice(len(df), len(df))].mean() for _ in range(30)])
ci_low, ci_high = np.percentile(boot_means, [2.5, 97.5])

features = ["noise", "tenure_months", "monthly_visits", "support_calls"]
forest = RandomForestClassifier(n_estimators=25, max_depth=5)  # draws from the global RNG
forest.fit(df[features], df["churn"])
importances = dict(zip(features, forest.feature_importances_.round(4)))
after = np.random.randint(0, 1000, size=3)
print(f"bootstrap spend CI: [{ci_low:.2f}, {ci_high:.2f}]")
print(f"sample churn rate: {sample['churn'].mean():.4f}")
print(f"importances: {importances}")
print(f"next draws: {after.tolist()}")
