"""Pushing certificates: the records, the plan (`planning`), the writes (`writing`, each one read
back by `readback`), the whole push (`engine`) and its state-recording variant (`recorded`)."""

from certsync.push.breaker import BREAKER_REASON, CircuitBreaker
from certsync.push.engine import Settle, push
from certsync.push.planning import plan
from certsync.push.records import (
    WRITING,
    Intent,
    Journal,
    Plan,
    PlanAction,
    PlanEntry,
    PushItem,
    PushOutcome,
    PushRun,
    Selection,
)
from certsync.push.writing import apply

__all__ = [
    "BREAKER_REASON",
    "WRITING",
    "CircuitBreaker",
    "Intent",
    "Journal",
    "Plan",
    "PlanAction",
    "PlanEntry",
    "PushItem",
    "PushOutcome",
    "PushRun",
    "Selection",
    "Settle",
    "apply",
    "plan",
    "push",
]
