# Notebook cells (library functions writing into arguments): random.shuffle, heapq, bisect.insort and dict.setdefault.
import bisect
import heapq
import random
items = [5, 1, 4]
ordered = [1, 3, 5]
groups = {}
snapshot = (list(items), list(ordered), dict(groups))
# %%
heapq.heapify(items)
heapq.heappush(items, 0)
bisect.insort(ordered, 4)
groups.setdefault("a", []).append(1)
# %%
snapshot = (list(items), list(ordered), dict(groups))
random.seed(1)
random.shuffle(ordered)
# %%
snapshot = (list(items), list(ordered), dict(groups))
print(snapshot)
