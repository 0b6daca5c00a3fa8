# Notebook cells (container stores): a frame stored in a dict and a list, changed through the container between identical reads.
import pandas as pd
df = pd.read_csv("tests/corpus/data/customers.csv")
frame = df.head(200).copy()
shape = frame.shape
# %%
frames = {"main": frame}
frames["main"]["visits2"] = frames["main"]["monthly_visits"] ** 2
# %%
shape = frame.shape
stack = []
stack.append(frame)
stack[-1]["flag"] = 1
# %%
shape = frame.shape
print(shape)
