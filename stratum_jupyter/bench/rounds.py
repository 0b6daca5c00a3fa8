"""The ``agent-rounds`` workload: an agent's search in rounds, measuring step reuse (issue 12).

An agent submits candidates, reads the scores and submits more, most repeating the loading and
feature engineering it ran before. Three rounds over agent-session candidates:

- ``round1``: N candidates (fresh process; with ``%stratum run --cache DIR`` nothing is kept yet);
- ``round2``: the same N again plus a few whose final model has one parameter changed, in the
  same process (the kernel's session cache and DIR hold what round 1 computed);
- ``round3``: round 2 again in a fresh process, as after a kernel restart (only DIR survives).

Each mode runs every round; a round's record names are ``ROUND_SCRIPT`` so the fidelity check
compares each round's results with the reference mode's (plain execution in one warm process).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .generators import (MODEL_GRIDS, AgentPlan, Script, Workload, _csv_bytes, agent_plans,
                         customer_table, render_agent)

NAME = "agent-rounds"


@dataclass(frozen=True)
class Round:
    """One submission of candidates: their script names, and whether it starts a new process."""

    label: str
    scripts: tuple[str, ...]
    fresh_process: bool

    def record_name(self, script: str) -> str:
        """The name of ``script``'s record (and pipeline) in this round."""
        return f"{self.label}_{script}"


def changed_final_model(plan: AgentPlan) -> AgentPlan:
    """``plan`` with its final model's first parameter moved to the next value of its grid:
    everything before the model statement is unchanged, so its steps are reusable."""
    key, value = plan.params[0]
    grid = MODEL_GRIDS[plan.model][key]
    new = grid[(grid.index(value) + 1) % len(grid)] if value in grid else grid[0]
    return replace(plan, params=((key, new), *plan.params[1:]))


def n_changed(n_candidates: int) -> int:
    """How many candidates round 2 resubmits with a changed final model (2 of 15, as issue 12)."""
    return max(1, round(n_candidates * 2 / 15))


def agent_rounds_workload(rows: int, n_candidates: int, seed: int) -> Workload:
    """The workload: the candidates and their changed variants, and the three rounds."""
    plans = agent_plans(n_candidates, seed)
    scripts = [Script(f"agent_{i:03d}", render_agent(p), render_agent(p, memory=True))
               for i, p in enumerate(plans)]
    # candidates meant to crash stay as they are: an agent tunes the ones that scored
    tuned = [i for i, p in enumerate(plans) if p.bug is None][:n_changed(n_candidates)]
    changed = [Script(f"agent_{i:03d}_changed", render_agent(changed_final_model(plans[i])),
                      render_agent(changed_final_model(plans[i]), memory=True)) for i in tuned]
    first = tuple(s.name for s in scripts)
    second = first + tuple(s.name for s in changed)
    rounds = [Round("round1", first, True), Round("round2", second, False),
              Round("round3", second, True)]
    return Workload(NAME, rows, seed, {"data.csv": _csv_bytes(customer_table(rows, seed))},
                    scripts + changed, rounds=rounds,
                    info={"failing_by_design": [s.name for s, p in zip(scripts, plans) if p.bug],
                          "changed": [s.name for s in changed],
                          "rounds": {r.label: {"scripts": len(r.scripts),
                                               "fresh_process": r.fresh_process}
                                     for r in rounds}})


def record_names(workload: Workload) -> list[str]:
    """Every round's record names, in round order: what the fidelity check compares."""
    return [r.record_name(s) for r in workload.rounds for s in r.scripts]


def processes(workload: Workload) -> list[list[Round]]:
    """The rounds grouped by the process they run in (a new group at each fresh process)."""
    groups: list[list[Round]] = []
    for r in workload.rounds:
        if r.fresh_process or not groups:
            groups.append([])
        groups[-1].append(r)
    return groups
