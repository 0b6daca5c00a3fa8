# Notebook cells (kernel semantics): cells compile with the kernel's own flags — an annotation naming an undefined name raises NameError, as in the kernel, until a cell imports `annotations` from __future__.
def h(x: Undefined):
    return x
# %%
ok = 1
# %%
from __future__ import annotations
# %%
def g(x: Undefined):
    return x

annotated = g.__annotations__
print(annotated)
