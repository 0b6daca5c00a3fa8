# Notebook cells (kernel semantics): names rebound through `exec` are never overwritten by stale values at write-back.
level = 1
label = "start"
# %%
exec("level = level + 10")
exec("label = 'changed'")
# %%
copy_level = level
print(level, label)
