# Notebook cells (kernel semantics): a name rebound through `global` inside a function, called twice and read in the same cell.
n = 0
def inc():
    global n
    n += 1
# %%
inc()
inc()
seen = n
# %%
inc()
print(n, seen)
