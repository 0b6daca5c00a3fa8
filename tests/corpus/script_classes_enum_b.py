# The same class statements as a (shared), then its own change of the config and a listing.
import enum
from dataclasses import dataclass, field
import numpy as np
import pandas as pd

class Stage(enum.Enum):
    TRAIN = "train"
    VALID = "valid"

@dataclass
class Config:
    alpha: float = 1.0
    stages: list = field(default_factory=lambda: [Stage.TRAIN, Stage.VALID])

cfg = Config()
df = pd.DataFrame({"x": np.arange(10.0), "stage": [Stage.TRAIN] * 7 + [Stage.VALID] * 3})
train = df[df["stage"] == Stage.TRAIN]
n_train = len(train)
same = cfg.stages[0] is Stage.TRAIN
kinds = isinstance(cfg, Config), type(cfg).__name__
cfg.alpha = 3.0
extra = [s.value for s in Stage]
print(n_train, same, kinds, cfg)
