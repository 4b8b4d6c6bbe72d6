"""The wait-for-CI verdict on one commit, from its check runs and commit statuses.

Level-based on purpose: it looks at the commit's whole current state as GitHub reports it, never
at the event that woke it, so events arriving out of order, twice, or late cannot change the
outcome. Any failed check or status skips the deploy; every one succeeded (and at least one
exists) deploys; anything else waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kubidu.github.client import CheckRun, CommitStatus

_GOOD_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
_BAD_STATES = frozenset({"failure", "error"})


class Decision(StrEnum):
    DEPLOY = "deploy"
    WAIT = "wait"
    SKIP = "skip"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str


def verdict(runs: list[CheckRun], statuses: list[CommitStatus]) -> Verdict:
    for run in runs:
        if run.status == "completed" and run.conclusion not in _GOOD_CONCLUSIONS:
            return Verdict(Decision.SKIP, f"check run {run.name!r} concluded {run.conclusion}")
    for status in statuses:
        if status.state in _BAD_STATES:
            return Verdict(Decision.SKIP, f"commit status {status.context!r} is {status.state}")
    if not runs and not statuses:
        return Verdict(Decision.WAIT, "no check run or commit status yet")
    waiting = [r.name for r in runs if r.status != "completed"]
    waiting += [s.context for s in statuses if s.state != "success"]
    if waiting:
        return Verdict(Decision.WAIT, f"waiting for {', '.join(sorted(waiting))}")
    return Verdict(
        Decision.DEPLOY, f"{len(runs)} check run(s) and {len(statuses)} status(es) passed"
    )
