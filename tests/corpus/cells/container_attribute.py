# Notebook cells (container stores): a frame held as an object attribute and in a tuple, changed through them.
import pandas as pd
df = pd.read_csv("tests/corpus/data/customers.csv")
frame = df.head(100).copy()
total = float(frame["spend"].sum())
# %%
class Box:
    pass

box = Box()
box.frame = frame
box.frame["spend"] = box.frame["spend"] * 2
# %%
total = float(frame["spend"].sum())
pair = (frame, df)
pair[0].loc[:, "spend"] = 0.0
# %%
total = float(frame["spend"].sum())
print(total)
