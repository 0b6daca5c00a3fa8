# Notebook cells (globals): a helper appends to a module-level list and dict it reaches through globals.
results = []
registry = {}
count = len(results)
# %%
def record(name, value):
    results.append((name, value))
    registry[name] = value

record("a", 1)
# %%
count = len(results)
record("b", 2)
# %%
count = len(results)
keys = sorted(registry)
print(count, keys)
