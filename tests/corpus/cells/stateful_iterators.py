# Notebook cells (reads that change): an iterator and a generator advanced by `next`, loops and builtins across cells.
numbers = iter(range(10))
squares = (i * i for i in range(6))
first = next(numbers)
# %%
first = next(numbers)
for s in squares:
    if s > 3:
        break
# %%
first = next(numbers)
rest = list(squares)
total = sum(numbers)
print(first, rest, total)
