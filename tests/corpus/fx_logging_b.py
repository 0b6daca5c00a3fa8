# The same log and records, plus one of its own: every record reaches this script's log file once, after a's (appended).
import logging
import os

import pandas as pd

os.makedirs(".stratum_tmp/logging", exist_ok=True)
logging.basicConfig(filename=".stratum_tmp/logging/run.log", level=logging.INFO, format="%(name)s %(message)s", force=True)
log = logging.getLogger("agent")
log.info("loading data")
df = pd.read_csv("tests/corpus/data/customers.csv")
log.info("loaded %d rows", len(df))
spend = df.groupby("region")["spend"].mean().round(2)
logging.info("regions %s", list(spend.index))
logging.getLogger("agent.b").warning("highest %s", spend.idxmax())
logging.shutdown()
with open(".stratum_tmp/logging/run.log") as handle:
    lines = handle.read().splitlines()
print(len(lines), lines[-1])
