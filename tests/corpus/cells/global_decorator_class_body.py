# Notebook cells (globals): a decorator registering functions in a dict, and a class body appending to a list when it runs.
handlers = {}
log = []
size = len(handlers)
# %%
def register(function):
    handlers[function.__name__] = function
    return function

@register
def clean(x):
    return x
# %%
size = len(handlers)
class Model:
    log.append("defined")
    name = "m"
# %%
size = len(handlers)
entries = list(log)
print(size, entries)
